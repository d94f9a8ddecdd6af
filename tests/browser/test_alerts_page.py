"""The Alerts page in Chromium: create a rule, see a bad one refused, watch its delivery in the log, delete it.

Its own server (fast evaluation, private targets allowed) and a real receiver on 127.0.0.1, so the
delivery the page shows really happened."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.alerts.receiver import Receiver
from tests.browser.conftest import screenshot, wait_ready
from tests.conftest import cli, create_login, create_project

PASSWORD = "correct horse battery"


def test_alerts_page_manages_rules_and_shows_deliveries(tmp_path: Path, server_factory: Any, page: Any,
                                                         guard: Any) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db, "Alerting", project_id="55550001")
    create_login(db, "ops@example.com", PASSWORD, (creds.project_id,))
    server = server_factory({"VIDEOINSIGHTS_ALERT_EVAL_INTERVAL_MS": "200", "VIDEOINSIGHTS_WEBHOOK_ALLOW_PRIVATE": "1"})
    receiver = Receiver().start()
    try:
        page.goto(f"{server.url}/login?next=/alerts")
        page.fill("input[name=email]", "ops@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(re.escape(server.url + "/alerts")))
        wait_ready(page)
        assert "No alert rules yet." in page.inner_text("#alert-rules")

        guard.allowed_statuses.add(400)  # the refused rule below
        form = page.locator("#alert-form")
        form.locator("select[name=metric]").select_option("connect_failure_rate")
        form.locator("input[name=threshold]").fill("1.5")
        form.locator("input[name=webhook]").fill(receiver.url)
        form.locator("button[type=submit]").click()
        page.wait_for_selector("#alert-message .error")
        assert "between 0 and 1" in page.inner_text("#alert-message")

        form.locator("input[name=threshold]").fill("0.2")
        form.locator("input[name=window]").fill("1m")
        form.locator("input[name=countries]").fill("us")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("#new-secret")
        receiver.secret = page.inner_text("#new-secret")
        page.wait_for_selector("#alert-rules tr[data-rule]")  # the list is fetched again after the secret shows
        row = page.locator("#alert-rules tr[data-rule]")
        assert row.count() == 1
        assert "connect_failure_rate > 0.2" in row.inner_text() and "country US" in row.inner_text()
        rule_id = row.get_attribute("data-rule")
        listed = orjson.loads(cli(db, "alerts", "list", "--project", creds.project_id, "--json"))
        assert [r["id"] for r in listed] == [rule_id] and listed[0]["secret"] == receiver.secret

        event = {"id": str(uuid.uuid4()), "type": "connectAttempt", "sessionId": "s1", "outcome": "failure",
                 "timestamp": int(time.time() * 1000), "connectionId": "c1", "country": "US", "errorCode": 1006}
        posted = httpx.post(f"{server.url}/v1/events", content=orjson.dumps([event]), timeout=60,
                            headers={**creds.headers(), "Content-Type": "application/json"})
        assert posted.status_code == 200, posted.text
        receiver.wait_for(lambda got: len(got) == 1)
        assert receiver.received[0].verified  # signed with the secret the page showed
        deadline = time.monotonic() + 90
        while page.locator("#alert-deliveries tr[data-status=delivered]").count() == 0:
            assert time.monotonic() < deadline, page.inner_text("#alert-deliveries")
            page.reload()
            wait_ready(page)
        delivered = page.locator("#alert-deliveries tr[data-status=delivered]").inner_text()
        assert rule_id in delivered and "fired" in delivered and "200" in delivered
        assert page.locator(f"#alert-rules tr[data-rule='{rule_id}']").get_attribute("data-state") == "firing"
        screenshot(page, "alerts")

        page.once("dialog", lambda dialog: dialog.accept())
        page.click(f"button[data-delete='{rule_id}']")
        page.wait_for_selector("#alert-rules >> text=No alert rules yet.")
        assert orjson.loads(cli(db, "alerts", "list", "--project", creds.project_id, "--json")) == []
    finally:
        receiver.stop()


def test_alerts_api_refuses_other_projects_and_missing_csrf(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    mine = create_project(db, "Mine", project_id="55550002")
    other = create_project(db, "Other", project_id="55550003")
    create_login(db, "ops@example.com", PASSWORD, (mine.project_id,))
    theirs = orjson.loads(cli(db, "alerts", "create", "--project", other.project_id, "--metric", "minutes",
                              "--threshold", "1", "--webhook", "https://hooks.example.com/x", "--json"))
    server = server_factory()
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/alerts/api", params={"project": mine.project_id}).status_code == 401
        form = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert form is not None
        login = client.post("/login", data={"csrf": form.group(1), "email": "ops@example.com", "password": PASSWORD,
                                            "next": "/alerts"})
        assert login.status_code == 303
        csrf = re.search(r'"csrf":\s*"([^"]+)"', client.get("/alerts", headers={"Accept": "text/html"}).text)
        assert csrf is not None
        token = {"X-CSRF-Token": csrf.group(1)}
        assert client.get("/alerts/api", params={"project": other.project_id}).status_code == 403
        body = {"metric": "minutes", "threshold": 5, "webhook": "https://hooks.example.com/y"}
        assert client.post("/alerts/api/rules", params={"project": mine.project_id}, json=body).status_code == 403
        created = client.post("/alerts/api/rules", params={"project": mine.project_id}, json=body, headers=token)
        assert created.status_code == 201 and created.json()["metric"] == "minutes"
        bad = client.post("/alerts/api/rules", params={"project": mine.project_id}, json={**body, "x": 1},
                          headers=token)
        assert bad.status_code == 400
        wrong_type = client.post("/alerts/api/rules", params={"project": mine.project_id},
                                 json={**body, "countries": "US"}, headers=token)
        assert wrong_type.status_code == 400
        # another project's rule cannot be deleted through a granted project
        refused = client.post(f"/alerts/api/rules/{theirs['id']}/delete", params={"project": mine.project_id},
                              headers=token)
        assert refused.status_code == 404
        listing = client.get("/alerts/api", params={"project": mine.project_id}).json()
        assert [r["id"] for r in listing["rules"]] == [created.json()["id"]] and listing["deliveries"] == []
    assert [r["id"] for r in orjson.loads(cli(db, "alerts", "list", "--project", other.project_id, "--json"))] == [
        theirs["id"]]
