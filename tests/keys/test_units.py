"""The pure parts: origin normalisation, the key cache, and LiveKit webhook mapping edge cases."""

from __future__ import annotations

from typing import Any

import pytest

from videoinsights.auth.client_keys import ClientKey, ClientKeyCache, ClientKeyError, hash_key, normalize_origin
from videoinsights.ingest.livekit import map_webhook
from videoinsights.ingest.validate import EventError


@pytest.mark.parametrize(("given", "stored"), [
    ("https://App.Example.com/", "https://app.example.com"),
    ("http://localhost:5173", "http://localhost:5173"),
    ("https://[::1]:8443", "https://[::1]:8443"),
    ("*", "*"),
])
def test_origins_are_normalised(given: str, stored: str) -> None:
    assert normalize_origin(given) == stored


@pytest.mark.parametrize("bad", ["app.example.com", "ftp://x.example.com", "https://a.example.com/app",
                                 "https://a.example.com/?q=1", "https://user:pw@a.example.com", ""])
def test_non_origins_are_refused(bad: str) -> None:
    with pytest.raises(ClientKeyError):
        normalize_origin(bad)


def test_a_key_allows_its_origins_and_requests_without_one() -> None:
    key = ClientKey("h", "vik_00000000", "1", "", ("https://app.example.com",), 0, None)
    assert key.allows_origin(None) and key.allows_origin("https://APP.example.com")
    assert not key.allows_origin("https://app.example.com.evil.net") and not key.allows_origin("null")
    assert ClientKey("h", "p", "1", "", ("*",), 0, None).allows_origin("https://anything.example")


def test_the_cache_rereads_after_invalidate() -> None:
    rows = [ClientKey(hash_key("vik_a"), "vik_a", "1", "", ("https://a.example.com",), 0, None)]
    loads: list[int] = []

    def load() -> list[ClientKey]:
        loads.append(1)
        return list(rows)

    cache = ClientKeyCache(load, ttl_s=3600)
    assert cache.get("vik_a") is not None and cache.any_allows("https://a.example.com")
    rows.clear()  # revoked in the store: still cached until invalidated (or the TTL passes)
    assert cache.get("vik_a") is not None and len(loads) == 1
    cache.invalidate()
    assert cache.get("vik_a") is None and not cache.any_allows("https://a.example.com") and len(loads) == 2


ROOM = {"sid": "RM_1", "name": "room"}


def test_protojson_defaults_and_snake_case() -> None:
    # no "type": AUDIO, the protobuf default that protojson leaves out; created_at in snake_case
    body: dict[str, Any] = {"event": "track_published", "room": ROOM, "created_at": 1700000000,
                            "participant": {"sid": "PA_1"}, "track": {"sid": "TR_1", "source": "MICROPHONE"}}
    assert map_webhook(body) == [{"id": "livekit:RM_1:TR_1:published", "type": "streamCreated",
                                  "streamId": "PA_1:camera", "connectionId": "PA_1", "hasAudio": True,
                                  "sessionId": "room", "timestamp": 1700000000000}]
    data = {**body, "track": {"sid": "TR_2", "type": "DATA"}}
    assert map_webhook(data) == []
    assert map_webhook({"event": "egress_started", "room": ROOM, "createdAt": "1700000000"}) == []


@pytest.mark.parametrize("body", [
    [],
    {"event": "room_started", "createdAt": "1700000000"},  # no room
    {"event": "room_started", "room": ROOM},  # no createdAt
    {"event": "participant_joined", "room": ROOM, "createdAt": "1700000000"},  # no participant
    {"event": "track_published", "room": ROOM, "createdAt": "1700000000", "participant": {"sid": "PA_1"}},
])
def test_webhooks_missing_what_they_need_are_errors(body: Any) -> None:
    with pytest.raises(EventError):
        map_webhook(body)
