"""LiveKit webhooks over real HTTP, signed by the official livekit-api package as a LiveKit server signs them."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import httpx
from google.protobuf.json_format import MessageToJson
from livekit.api import AccessToken, TokenVerifier, WebhookReceiver
from livekit.protocol.models import (
    DisconnectReason,
    ParticipantInfo,
    Room,
    TrackInfo,
    TrackSource,
    TrackType,
)
from livekit.protocol.webhook import WebhookEvent

from tests.conftest import ProjectCreds, Server, cli, create_project

API_KEY, API_SECRET = "APIlivekit1", "a-livekit-secret-of-32-characters!"
T0 = int(time.time()) - 600  # LiveKit stamps webhooks in epoch seconds
ROOM = Room(sid="RM_1", name="lk-room", creation_time=T0)
ALICE = ParticipantInfo(sid="PA_alice", identity="alice", joined_at=T0 + 1)
BOB = ParticipantInfo(sid="PA_bob", identity="bob", joined_at=T0 + 10)
RECORDER = ParticipantInfo(sid="EG_1", identity="EG_recorder", kind=ParticipantInfo.Kind.EGRESS)
MIC = TrackInfo(sid="TR_mic", type=TrackType.AUDIO, source=TrackSource.MICROPHONE)
CAM = TrackInfo(sid="TR_cam", type=TrackType.VIDEO, source=TrackSource.CAMERA)
SCREEN = TrackInfo(sid="TR_screen", type=TrackType.VIDEO, source=TrackSource.SCREEN_SHARE)


def webhook(kind: str, at: int, participant: ParticipantInfo | None = None, track: TrackInfo | None = None,
            number: int = 0) -> str:
    """A webhook body as LiveKit's server writes it (protojson of livekit.WebhookEvent)."""
    event = WebhookEvent(event=kind, id=f"EV_{number}", created_at=at, room=ROOM)
    if participant is not None:
        event.participant.CopyFrom(participant)
    if track is not None:
        event.track.CopyFrom(track)
    return MessageToJson(event)


def sign(body: str, api_key: str = API_KEY, api_secret: str = API_SECRET) -> str:
    """The Authorization header LiveKit sends: a JWT of the API key whose sha256 claim is the body's hash."""
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    return AccessToken(api_key, api_secret).with_sha256(digest).to_jwt()


def deliver(server: Server, project_id: str, body: str, authorization: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/webhook+json"}
    authorization = sign(body) if authorization is None else authorization
    if authorization:
        headers["Authorization"] = authorization
    return httpx.post(f"{server.url}/v1/projects/{project_id}/callbacks/livekit", content=body, headers=headers)


def session_tree(server: Server, creds: ProjectCreds) -> dict[str, Any]:
    server.wait_derived()
    query = """query($p: IntOrString!) { project(projectId: $p) { sessionData { sessions(sessionIds: ["lk-room"]) {
      resources { meetings { resources {
        connections { resources { connectionId guid createdAt destroyedAt } }
        publishers { resources { connectionId createdAt destroyedAt stream { streamId videoType hasAudioTrack } } }
        subscribers { totalCount } } } } } } } }"""
    body = httpx.post(f"{server.url}/graphql", headers=creds.headers(),
                      json={"query": query, "variables": {"p": int(creds.project_id)}}).json()
    assert "errors" not in body, body
    (session,) = body["data"]["project"]["sessionData"]["sessions"]["resources"]
    (meeting,) = session["meetings"]["resources"]
    return dict(meeting)


def iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(seconds))


def test_signed_webhooks_become_the_session_lifecycle(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    server = server_factory()
    added = json.loads(cli(db, "livekit", "add", "--project", creds.project_id, "--api-key", API_KEY,
                           "--api-secret", API_SECRET, "--json"))  # beside the running server
    assert added["webhookPath"] == f"/v1/projects/{creds.project_id}/callbacks/livekit"
    left = ParticipantInfo(sid="PA_bob", identity="bob", disconnect_reason=DisconnectReason.CLIENT_INITIATED)
    script = [
        webhook("room_started", T0),
        webhook("participant_joined", T0 + 1, ALICE),
        webhook("track_published", T0 + 2, ALICE, MIC),
        webhook("track_published", T0 + 3, ALICE, CAM),
        webhook("participant_joined", T0 + 10, BOB),
        webhook("participant_joined", T0 + 11, RECORDER),  # an egress recorder: not a client
        webhook("track_published", T0 + 20, BOB, SCREEN),
        webhook("track_unpublished", T0 + 80, BOB, SCREEN),
        webhook("participant_left", T0 + 100, left),
        webhook("participant_left", T0 + 120, ALICE),
        webhook("room_finished", T0 + 130),
    ]
    # the official receiver accepts what we send: our signing is LiveKit's
    WebhookReceiver(TokenVerifier(API_KEY, API_SECRET)).receive(script[1], sign(script[1]))
    accepted = [deliver(server, creds.project_id, body).json()["accepted"] for body in script]
    assert accepted == [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1]
    # LiveKit retries a webhook until it gets a 2xx: a retry is a no-op (the id comes from LiveKit's sids)
    again = deliver(server, creds.project_id, webhook("participant_joined", T0 + 1, ALICE, number=99))
    assert again.json() == {"accepted": 0, "duplicates": 1, "rejected": []}

    meeting = session_tree(server, creds)
    assert meeting["connections"]["resources"] == [
        {"connectionId": "PA_alice", "guid": "alice", "createdAt": iso(T0 + 1), "destroyedAt": iso(T0 + 120)},
        {"connectionId": "PA_bob", "guid": "bob", "createdAt": iso(T0 + 10), "destroyedAt": iso(T0 + 100)}]
    assert meeting["publishers"]["resources"] == [
        {"connectionId": "PA_alice", "createdAt": iso(T0 + 2), "destroyedAt": None,  # ends with alice
         "stream": {"streamId": "PA_alice:camera", "videoType": "camera", "hasAudioTrack": True}},
        {"connectionId": "PA_bob", "createdAt": iso(T0 + 20), "destroyedAt": iso(T0 + 80),
         "stream": {"streamId": "PA_bob:screen", "videoType": "screen", "hasAudioTrack": None}}]
    assert meeting["subscribers"]["totalCount"] == 0  # webhooks tell no subscriptions


def test_signature_bad_tampered_or_foreign_is_refused(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    creds, other = create_project(db), create_project(db, name="other")
    cli(db, "livekit", "add", "--project", creds.project_id, "--api-key", API_KEY, "--api-secret", API_SECRET)
    cli(db, "livekit", "add", "--project", other.project_id, "--api-key", "APIother", "--api-secret", "s" * 32)
    server = server_factory()
    body = webhook("participant_joined", T0 + 1, ALICE)
    tampered = body.replace('"alice"', '"mallory"')
    assert tampered != body
    cases = {
        "tampered body": (tampered, sign(body)),
        "wrong secret": (body, sign(body, api_secret="not-the-secret-" + "x" * 20)),
        "unknown API key": (body, sign(body, api_key="APIunknown")),
        "another project's key": (body, sign(body, api_key="APIother", api_secret="s" * 32)),
        "no signature": (body, ""),
        "not a JWT": (body, "Bearer nonsense"),
    }
    for name, (sent, authorization) in cases.items():
        refused = deliver(server, creds.project_id, sent, authorization)
        assert refused.status_code == 401, (name, refused.text)
    malformed = '{"event": "participant_joined", "room": {"name": "lk-room"}}'  # no createdAt, no participant
    assert deliver(server, creds.project_id, malformed).status_code == 400
    ok = deliver(server, creds.project_id, body)
    assert ok.status_code == 200 and ok.json()["accepted"] == 1  # only the genuine one was stored
    # removing the key stops its webhooks
    cli(db, "livekit", "remove", "--project", creds.project_id, "--api-key", API_KEY)
    assert deliver(server, creds.project_id, webhook("participant_left", T0 + 5, ALICE)).status_code == 401
    listed = json.loads(cli(db, "livekit", "list", "--project", other.project_id, "--json"))
    assert [k["apiKey"] for k in listed] == ["APIother"]
