"""Small helpers for the pages' HTML forms: parsing, same-origin checks, safe redirects."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request

MAX_FORM_BYTES = 16 * 1024


async def read_form(request: Request) -> dict[str, str]:
    """The url-encoded form fields (first value of each); forms here never upload files."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=20)
    return {k: v[0] for k, v in parsed.items()}


def same_origin(request: Request) -> bool:
    """A browser's Origin (or Referer) must name this host. Requests with neither
    (old browsers, curl) pass: the CSRF token is the real check."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return source != "null"
    return urlsplit(source).netloc == request.headers.get("host", request.url.netloc)


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go to after a form, never another site (`//evil`, `/\\evil`, `https:`)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or any(c in value for c in "\r\n"):
        return default
    return value
