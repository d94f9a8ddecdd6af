"""POST /v1/projects/{project_id}/callbacks/livekit: LiveKit's webhooks, verified as LiveKit signs them.

LiveKit sends `Authorization: <JWT>`, HS256-signed with the API secret of the
API key in its `iss`, whose `sha256` claim is the base64 SHA-256 of the body
(livekit-api's WebhookReceiver checks exactly this). The API key must be
registered on the project (`videoinsights livekit add`). Mapped events
(ingest/livekit.py) are stored like any other; retries are no-ops.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

import jwt
import orjson
from starlette.requests import Request
from starlette.responses import Response

from videoinsights.ingest.batch import validate_events
from videoinsights.ingest.livekit import map_webhook
from videoinsights.ingest.validate import EventError
from videoinsights.web.ingest import TooLarge, read_body, store_batch, time_window
from videoinsights.web.ingest_limits import address_limited, project_limited
from videoinsights.web.responses import JSONResponse, error_response
from videoinsights.web.services import Services


class WebhookRefused(Exception):
    pass


def verify(services: Services, project_id: str, authorization: str, body: bytes) -> None:
    """Raise WebhookRefused unless the JWT is LiveKit's signature of this body for this project."""
    token = authorization.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    if not token:
        raise WebhookRefused("No Authorization header: LiveKit signs every webhook.")
    try:
        api_key = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        raise WebhookRefused("The Authorization header is not a JWT.") from None
    registered = services.store.sql.client_keys.livekit_key(services.store.reader(), str(api_key)) if api_key else None
    if registered is None or registered[0] != project_id:
        raise WebhookRefused("Unknown LiveKit API key for this project (videoinsights livekit add).")
    try:
        claims = jwt.decode(token, registered[1], algorithms=["HS256"], issuer=str(api_key),
                            leeway=services.settings.clock_skew_s, options={"require": ["exp"]})
    except jwt.PyJWTError as exc:
        raise WebhookRefused(f"Invalid LiveKit signature: {exc}.") from None
    try:
        claimed = base64.b64decode(str(claims.get("sha256") or ""), validate=True)
    except (binascii.Error, ValueError):
        claimed = b""
    if not claimed or not hmac.compare_digest(claimed, hashlib.sha256(body).digest()):
        raise WebhookRefused("The body does not match the signature's sha256.")


async def post_livekit_webhook(request: Request) -> Response:
    services: Services = request.app.state.services
    project_id = request.path_params["project_id"]
    if limited := address_limited(services, request.scope):
        return limited
    try:
        body = await read_body(request, services.settings.max_body_bytes)
    except TooLarge:
        return error_response(413, f"The body is larger than {services.settings.max_body_bytes} bytes.", 1004)
    try:
        verify(services, project_id, request.headers.get("authorization", ""), body)
    except WebhookRefused as exc:
        return error_response(401, str(exc), 1020)
    if limited := project_limited(services, project_id):
        return limited
    try:
        events = map_webhook(orjson.loads(body))
    except orjson.JSONDecodeError as exc:
        return error_response(400, f"malformed JSON: {exc}", 1022)
    except EventError as exc:
        return error_response(400, str(exc), 1022)
    now_ms = int(time.time() * 1000)
    min_ts, max_ts = time_window(services, now_ms)
    batch = validate_events(events, project_id, now_ms, min_ts, max_ts)
    if batch.rejected:
        return error_response(400, batch.rejected[0].error, 1022)
    result = await store_batch(services, batch, project_id)
    return result if isinstance(result, Response) else JSONResponse(result)
