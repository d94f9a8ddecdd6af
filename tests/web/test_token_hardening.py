"""Token checks against a real server: lifetimes are capped (no 500, no token that never expires), unknown
project ids answer exactly like bad signatures, and the SDKs' own tokens still pass."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from opentok import Client as OpenTokClient
from vonage_jwt import JwtClient

from tests.conftest import ProjectCreds, Server, cli, create_project

QUERY = {"query": "{ __typename }"}
HS256_HEADER = base64.urlsafe_b64encode(b'{"alg": "HS256", "typ": "JWT"}').rstrip(b"=").decode()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(payload_json: str, secret: str) -> str:
    """An HS256 token over a payload written by hand (json.dumps can't write 1e400)."""
    signing = f"{HS256_HEADER}.{b64(payload_json.encode())}"
    return f"{signing}.{b64(hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest())}"


def claims(creds: ProjectCreds, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": creds.project_id, "ist": "project", "iat": now, "exp": now + 180, **extra}


def hs256(creds: ProjectCreds, **extra: Any) -> str:
    return jwt.encode(claims(creds, **extra), creds.secret, algorithm="HS256")


def both_endpoints(server: Server, token: str) -> list[httpx.Response]:
    headers = {"X-OPENTOK-AUTH": token}
    return [httpx.post(f"{server.url}/graphql", json=QUERY, headers=headers),
            httpx.post(f"{server.url}/v1/events", json=[], headers=headers)]


def assert_401(responses: list[httpx.Response], code: int) -> None:
    for response in responses:
        assert response.status_code == 401, (response.request.url, response.text)
        assert response.json()["error"]["errorCode"] == code, response.text


@pytest.fixture
def served(tmp_path: Path, server_factory: Any) -> tuple[Server, ProjectCreds]:
    creds = create_project(tmp_path / "vi.duckdb")
    return server_factory(), creds


def test_huge_or_endless_expiry_is_a_clean_401(served: Any) -> None:
    server, creds = served
    now = int(time.time())
    base = {"iss": creds.project_id, "ist": "project", "iat": now}
    assert_401(both_endpoints(server, hs256(creds, exp=10**400)), 1011)  # was a plain-text 500
    assert_401(both_endpoints(server, hs256(creds, exp=10**30)), 1011)  # was a token that never expires
    assert_401(both_endpoints(server, hs256(creds, exp=now + 2 * 86_400)), 1011)  # over the 1-day default
    assert_401(both_endpoints(server, hs256(creds, iat=now - 5 * 86_400, exp=now + 60)), 1011)  # 5-day token
    for exp in ("1e400", "-1e400", '"soon"', "true", "NaN"):
        token = signed(json.dumps(base)[:-1] + f', "exp": {exp}}}', creds.secret)
        assert_401(both_endpoints(server, token), 1011)
    token = signed(json.dumps(base)[:-1] + f', "exp": {now + 300}, "iat": 1e400}}', creds.secret)
    assert_401(both_endpoints(server, token), 1011)
    # a normal token, and one just under the cap, still work
    for token in (hs256(creds), hs256(creds, exp=now + 86_000)):
        graphql, events = both_endpoints(server, token)
        assert graphql.status_code == 200 and graphql.json() == {"data": {"__typename": "Query"}}
        assert events.status_code == 200 and events.json()["accepted"] == 0


def test_the_lifetime_cap_is_a_setting(tmp_path: Path, server_factory: Any) -> None:
    creds = create_project(tmp_path / "vi.duckdb")
    server = server_factory(env={"VIDEOINSIGHTS_MAX_TOKEN_LIFETIME_S": "600"})
    now = int(time.time())
    assert_401(both_endpoints(server, hs256(creds, exp=now + 900)), 1011)  # 15 min > 10 min + 1 min leeway
    assert [r.status_code for r in both_endpoints(server, hs256(creds, exp=now + 600))] == [200, 200]


def test_unknown_projects_answer_like_bad_signatures(served: Any) -> None:
    server, creds = served
    bad_signature = both_endpoints(server, jwt.encode(claims(creds), "wrong" * 8, algorithm="HS256"))
    other = claims(creds, iss="99999999")
    unknown = both_endpoints(server, jwt.encode(other, "wrong" * 8, algorithm="HS256"))
    assert_401(bad_signature, 1020)
    assert_401(unknown, 1020)
    assert [r.json() for r in bad_signature] == [r.json() for r in unknown]
    assert [r.status_code for r in both_endpoints(server, hs256(creds))] == [200, 200]


def test_sdk_tokens_are_still_accepted(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "app.pub"
    pem.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    app = json.loads(cli(db, "applications", "create", "--name", "app", "--public-key", str(pem), "--json"))
    server = server_factory()
    opentok = OpenTokClient(creds.project_id, creds.secret)._create_jwt_auth_header()
    opentok = opentok if isinstance(opentok, str) else opentok.decode()
    assert [r.status_code for r in both_endpoints(server, opentok)] == [200, 200]
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    vonage = JwtClient(app["applicationId"], private).generate_application_jwt().decode()
    headers = {"Authorization": f"Bearer {vonage}"}
    graphql = httpx.post(f"{server.url}/graphql", json=QUERY, headers=headers)
    assert graphql.status_code == 200 and graphql.json() == {"data": {"__typename": "Query"}}
    # an unknown application id: the same 1020 as a wrong key
    stranger = JwtClient("0b1c2d3e-4f50-4a61-8b72-9c83d4e5f607", private).generate_application_jwt().decode()
    forged_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    forged = JwtClient(app["applicationId"], forged_key).generate_application_jwt().decode()
    answers = [httpx.post(f"{server.url}/graphql", json=QUERY, headers={"Authorization": f"Bearer {t}"})
               for t in (stranger, forged)]
    assert_401(answers, 1020)
    assert answers[0].json() == answers[1].json()
