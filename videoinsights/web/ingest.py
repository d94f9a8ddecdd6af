"""Ingestion endpoints: POST /v1/events and the Vonage session-monitoring callback.

A 2xx answer means every accepted event is committed to the database.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.ingest.batch import ValidatedBatch, validate_events
from videoinsights.ingest.fast import fast_validate
from videoinsights.ingest.jsonschema import event_schema
from videoinsights.ingest.parse import BodyError, parse_body
from videoinsights.ingest.validate import EventError
from videoinsights.ingest.vonage import map_callback
from videoinsights.store.base import RejectedBatch, StorageFull
from videoinsights.web.browser_ingest import Caller, identify, locate_events, refuse_events, with_cors
from videoinsights.web.ingest_limits import address_limited, project_limited
from videoinsights.web.responses import JSONResponse, error_response
from videoinsights.web.services import Services

log = logging.getLogger(__name__)

STORAGE_FULL_RETRY_S = 60  # a full disk is not freed in a second: ask clients not to hammer it


class TooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def time_window(services: Services, now_ms: int) -> tuple[int, int]:
    """Events must fall between the start of the raw-retention window and a little past now."""
    settings = services.settings
    oldest_day = la_day(now_ms) - timedelta(days=settings.raw_retention_days)
    return day_start_ms(oldest_day), now_ms + settings.max_future_skew_s * 1000


async def store_batch(services: Services, batch: ValidatedBatch, project_id: str) -> dict[str, Any] | Response:
    accepted = 0
    duplicates = batch.within_duplicates
    if batch.size:
        try:
            flags = await asyncio.wrap_future(services.writer.append(batch.columns))
        except RejectedBatch as exc:  # the data's fault: other requests' batches were stored
            return error_response(400, f"The events could not be stored ({exc}); nothing was written.", 1022)
        except StorageFull:
            response = error_response(507, "The server's storage is full; nothing was written. Retry later.", 1012)
            response.headers["Retry-After"] = str(STORAGE_FULL_RETRY_S)
            return response
        except Exception:
            log.exception("storing %d events failed", batch.size)
            return error_response(503, "The events could not be stored; nothing was written. Retry later.", 1012)
        accepted = sum(flags)
        duplicates += len(flags) - accepted
        if accepted:  # when the commit holding them was acknowledged: /metrics tells derivation lag from it
            services.metrics.commits.record(services.store.seq, time.time())
    received = batch.size + batch.within_duplicates + len(batch.rejected)
    services.metrics.observe_ingest(project_id, received, accepted, duplicates, len(batch.rejected))
    return {"accepted": accepted, "duplicates": duplicates, "rejected": [r.as_json() for r in batch.rejected]}


async def post_events(request: Request) -> Response:
    services: Services = request.app.state.services
    if limited := address_limited(services, request.scope):
        return limited
    caller = identify(request, services)  # project/application token, client key or ingest token
    if isinstance(caller, Response):
        return caller
    response = project_limited(services, caller.project_id) or await _accept_events(request, services, caller)
    return with_cors(response, request.headers.get("origin")) if caller.origin_allowed else response


async def _accept_events(request: Request, services: Services, caller: Caller) -> Response:
    settings = services.settings
    request.state.project_id = caller.project_id  # for the access log
    try:
        body = await read_body(request, settings.max_body_bytes)
    except TooLarge:
        return error_response(413, f"The body is larger than {settings.max_body_bytes} bytes.", 1004)
    now_ms = int(time.time() * 1000)
    min_ts, max_ts = time_window(services, now_ms)
    # Browsers' events are checked and located as dicts first (and are few per request): Python path.
    batch = None if caller.browser else \
        fast_validate(body, caller.project_id, now_ms, min_ts, max_ts, settings.max_events_per_request)
    if batch is None:  # something to refuse or reject, or a browser: the Python path says exactly what
        try:
            events = parse_body(body)
        except BodyError as exc:
            return error_response(400, str(exc), 1022)
        if len(events) > settings.max_events_per_request:
            return error_response(413, f"At most {settings.max_events_per_request} events per request.", 1004)
        refused = refuse_events(caller, events)
        if refused is not None:
            return refused
        locate_events(services, request, caller, events)
        batch = validate_events(events, caller.project_id, now_ms, min_ts, max_ts)
    result = await store_batch(services, batch, caller.project_id)
    if isinstance(result, Response):
        return result
    if batch.rejected and not batch.size and not batch.within_duplicates:
        first = batch.rejected[0]
        message = f"No event was accepted; event {first.index}: {first.error}"
        return error_response(400, message, 1022, **result)
    return JSONResponse(result)


async def post_vonage_callback(request: Request) -> Response:
    services: Services = request.app.state.services
    settings = services.settings
    project_id = request.path_params["project_id"]
    if limited := address_limited(services, request.scope):
        return limited
    project = services.projects.get(project_id)
    token = request.query_params.get("token", "")
    if project is None or not hmac.compare_digest(token.encode(), project.callback_token.encode()):
        return error_response(401, "Unknown project or wrong callback token.", 1001)
    request.state.project_id = project_id
    if limited := project_limited(services, project_id):
        return limited
    try:
        body = await read_body(request, settings.max_body_bytes)
        events = parse_body(body)
        if len(events) != 1:
            raise EventError("send one callback per request")
        event = map_callback(events[0], project_id)
    except TooLarge:
        return error_response(413, f"The body is larger than {settings.max_body_bytes} bytes.", 1004)
    except (BodyError, EventError) as exc:
        return error_response(400, str(exc), 1022)
    now_ms = int(time.time() * 1000)
    min_ts, max_ts = time_window(services, now_ms)
    batch = validate_events([event], project_id, now_ms, min_ts, max_ts)
    if batch.rejected:
        return error_response(400, batch.rejected[0].error, 1022)
    result = await store_batch(services, batch, project_id)
    return result if isinstance(result, Response) else JSONResponse(result)


async def get_event_schema(request: Request) -> Response:
    return JSONResponse(event_schema())
