"""Authentication, authorization and the error shape, over real HTTP with real client tokens.

Tokens are made the way customers make them: the official OpenTok SDK for
X-OPENTOK-AUTH, and vonage-jwt for the application's Bearer token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import jwt
import pytest
from vonage_jwt import JwtClient

from tests.query import fixtures as fx
from tests.query.conftest import CORS_ORIGIN, SETTINGS, Server, clock, opentok_token
from videoinsights.auth.tokens import AuthContext
from videoinsights.query.executor import Executor

PROJECT_QUERY = '{ project(projectId: %s) { projectData(start: "2025-11-26") { totalCount } } }'


def vonage_token(**claims: Any) -> str:
    return JwtClient(fx.APP, fx.APP_PRIVATE_KEY).generate_application_jwt(claims or None).decode()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_hs256(claims: dict[str, Any], key: bytes) -> str:
    """An HS256 token signed with arbitrary bytes (PyJWT refuses to use a PEM key as HMAC secret)."""
    signing = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing}.{b64(hmac.new(key, signing.encode(), hashlib.sha256).digest())}"


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": fx.PROJECT, "ist": "project", "iat": now, "exp": now + 180, **extra}


def test_opentok_sdk_token(server: Server) -> None:
    r = server.post(PROJECT_QUERY % fx.PROJECT, token=opentok_token())
    assert r.status_code == 200 and r.json() == {"data": {"project": {"projectData": {"totalCount": 1}}}}


def test_vonage_application_token(server: Server) -> None:
    r = server.post(PROJECT_QUERY % f'"{fx.APP}"', headers={"Authorization": f"Bearer {vonage_token()}"})
    assert r.json() == {"data": {"project": {"projectData": {"totalCount": 1}}}}


def expect_401(response: Any, code: int) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["errors"][0]["errorCode"] == body["errors"][0]["extensions"]["code"] == code
    assert body["error"]["errorCode"] == code and body["error"]["message"] == body["errors"][0]["message"]


def test_no_token(server: Server) -> None:
    expect_401(server.post(PROJECT_QUERY % fx.PROJECT), 1001)
    expect_401(server.post(PROJECT_QUERY % fx.PROJECT, headers={"Authorization": "Basic abc"}), 1001)


@pytest.mark.parametrize(("make", "code"), [
    (lambda: "not-a-jwt", 1011),
    (lambda: jwt.encode(claims(exp=int(time.time()) - 3600), fx.SECRET, algorithm="HS256"), 1011),  # expired
    (lambda: jwt.encode({k: v for k, v in claims().items() if k != "exp"}, fx.SECRET, algorithm="HS256"), 1011),
    (lambda: jwt.encode(claims(ist="account"), fx.SECRET, algorithm="HS256"), 1011),
    (lambda: jwt.encode(claims(), None, algorithm="none"), 1011),  # alg: none
    (lambda: jwt.encode(claims(), "wrong" * 8, algorithm="HS256"), 1020),  # bad signature
    (lambda: jwt.encode(claims(iss="99999999"), fx.SECRET, algorithm="HS256"), 1020),  # unknown project (no id oracle)
    (lambda: vonage_token(), 1011),  # RS256 token in the OpenTok header
])
def test_bad_opentok_header(server: Server, make: Any, code: int) -> None:
    expect_401(server.post(PROJECT_QUERY % fx.PROJECT, token=make()), code)


def test_hs_rs_confusion_refused(server: Server) -> None:
    # HS256 signed with the application's *public* key, offered as a Bearer token
    now = int(time.time())
    token = forged_hs256({"application_id": fx.APP, "iat": now, "exp": now + 60}, fx.APP_PUBLIC_KEY.encode())
    expect_401(server.post(PROJECT_QUERY % f'"{fx.APP}"', headers={"Authorization": f"Bearer {token}"}), 1011)


def test_expired_application_token(server: Server) -> None:
    token = vonage_token(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    expect_401(server.post(PROJECT_QUERY % f'"{fx.APP}"', headers={"Authorization": f"Bearer {token}"}), 1011)


def gql_error(response: Any) -> dict[str, Any]:
    assert response.status_code == 200
    (err,) = response.json()["errors"]
    assert err["errorCode"] == err["extensions"]["code"]
    return err


@pytest.mark.parametrize(("project", "code"), [
    (fx.OTHER, 1021),  # another project that exists
    ("99999999", 1021),  # ... or not: the same answer, no existence oracle
    (f'"{fx.APP}"', 1019),  # an application id with a project token
    ('"not a project"', 1008),
    ("-5", 1008),
    ('""', 1008),
    ("0", 1008),
])
def test_other_or_bad_project_ids(server: Server, project: str, code: int) -> None:
    err = gql_error(server.post(PROJECT_QUERY % project, token=opentok_token()))
    assert err["errorCode"] == code
    assert err["path"] == ["project"] and err["locations"] == [{"line": 1, "column": 3}]


def test_application_token_for_a_project_id(server: Server) -> None:
    r = server.post(PROJECT_QUERY % fx.PROJECT, headers={"Authorization": f"Bearer {vonage_token()}"})
    assert gql_error(r)["errorCode"] == 1019


def test_spec_error_example_shape(server: Server) -> None:
    r = server.post('{\n  project(projectId: "x") { projectData(start: 0) { totalCount } } }', token=opentok_token())
    assert r.json() == {"errors": [{
        "message": "You must provide a valid project ID: 'x' is neither an API key nor an application id.",
        "locations": [{"line": 2, "column": 3}], "path": ["project"], "errorCode": 1008,
        "extensions": {"code": 1008}}], "data": {"project": None}}


def test_missing_start_is_1013(server: Server) -> None:
    err = gql_error(server.post("{ project(projectId: 12345678) { projectData { totalCount } } }",
                                token=opentok_token()))
    assert err["errorCode"] == 1013 and "start" in err["message"]


def test_unknown_project_after_authentication_is_1015(store: Any) -> None:
    executor = Executor(SETTINGS, store.reader, lambda _id: None, clock)  # the project vanished after auth
    body = executor.run(AuthContext(fx.PROJECT, "project"), PROJECT_QUERY % fx.PROJECT)
    assert body["errors"][0]["errorCode"] == 1015


def test_internal_errors_are_generic(store: Any, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def execute(self, *_args: Any) -> Any:
            raise RuntimeError("disk on fire at /secret/path")

    executor = Executor(SETTINGS, Broken, store.get_project, clock, sql=store.sql)
    with caplog.at_level(logging.ERROR):
        body = executor.run(AuthContext(fx.PROJECT, "project"), PROJECT_QUERY % fx.PROJECT)
    (err,) = body["errors"]
    assert (err["errorCode"], err["message"], err["path"]) == (1012, "Internal server error.",
                                                                ["project", "projectData"])
    assert "secret" not in json.dumps(body)
    assert "disk on fire" in caplog.text


def test_multiple_operations_need_a_name(server: Server) -> None:
    text = "query A { project(projectId: 12345678) { projectData(start: 0) { totalCount } } } query B { __typename }"
    assert gql_error(server.post(text, token=opentok_token()))["errorCode"] == 1004
    r = server.client.post("/graphql", json={"query": text, "operationName": "B"},
                           headers={"X-OPENTOK-AUTH": opentok_token()})
    assert r.json() == {"data": {"__typename": "Query"}}


def test_bodies(server: Server) -> None:
    headers = {"X-OPENTOK-AUTH": opentok_token()}
    r = server.client.post("/graphql", content=PROJECT_QUERY % fx.PROJECT,
                           headers={**headers, "Content-Type": "application/graphql"})
    assert r.json()["data"]["project"]["projectData"]["totalCount"] == 1
    r = server.client.post("/graphql", json={"query": "query($p: IntOrString!) { project(projectId: $p) { "
                                                      'projectData(start: 0) { totalCount } } }',
                                             "variables": json.dumps({"p": 12345678})}, headers=headers)
    assert r.json()["data"]["project"]["projectData"]["totalCount"] == 1
    r = server.client.post("/graphql", content=b"{not json", headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["errors"][0]["errorCode"] == 1004
    r = server.client.post("/graphql", json={"variables": {}}, headers=headers)
    assert r.status_code == 400 and r.json()["errors"][0]["errorCode"] == 1013


def test_introspection_and_descriptions(server: Server) -> None:
    r = server.post('{ __type(name: "Metric") { description fields { name description } } }', token=opentok_token())
    metric = r.json()["data"]["__type"]
    assert metric["description"] and all(f["description"] for f in metric["fields"])


def test_get_points_to_the_explorer(server: Server) -> None:
    r = server.client.get("/graphql")
    assert r.status_code == 200 and "explorer" in r.json()["message"]
    r = server.client.get("/graphql", headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")


def test_cors(server: Server) -> None:
    preflight = {"Origin": CORS_ORIGIN, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type, x-opentok-auth"}
    r = server.client.options("/graphql", headers=preflight)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == CORS_ORIGIN
    assert "x-opentok-auth" in r.headers["access-control-allow-headers"].lower()
    r = server.client.options("/graphql", headers={**preflight, "Origin": "https://evil.example"})
    assert r.status_code == 400 and "access-control-allow-origin" not in r.headers
    r = server.post(PROJECT_QUERY % fx.PROJECT, token=opentok_token(), headers={"Origin": CORS_ORIGIN})
    assert r.headers["access-control-allow-origin"] == CORS_ORIGIN
    r = server.post(PROJECT_QUERY % fx.PROJECT, headers={"Origin": CORS_ORIGIN})  # 401s are readable too
    assert r.status_code == 401 and r.headers["access-control-allow-origin"] == CORS_ORIGIN
    r = server.post(PROJECT_QUERY % fx.PROJECT, token=opentok_token(), headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
