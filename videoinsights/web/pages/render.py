"""HTML responses of the pages: templates filled with escaped values, the boot
data the page scripts read, and the security headers every page carries."""

from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from starlette.responses import HTMLResponse

HERE = Path(__file__).parent
STATIC = HERE / "static"
DIST = STATIC / "dist"

# Scripts and styles come only from this server (the frontend is bundled at setup time, no CDN).
# Monaco (the explorer's editor) adds inline styles and runs its language services in workers.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self' data:; worker-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'; object-src 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages carry the login's CSRF token
}


@cache
def _template(name: str) -> Template:
    return Template((HERE / "templates" / name).read_text())


def fill(name: str, raw: dict[str, str] | None = None, **text: Any) -> str:
    """The template with `text` values HTML-escaped and `raw` values (already HTML) as they are."""
    values = {k: html.escape(str(v), quote=True) for k, v in text.items()}
    values.update(raw or {})
    return _template(name).substitute(values)


def page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def boot_json(data: dict[str, Any]) -> str:
    """JSON safe inside <script type="application/json">: no `</script>` can end it early."""
    return json.dumps(data, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")


def asset_version() -> str:
    """Changes whenever the frontend is rebuilt, so browsers fetch the new bundles."""
    stamp = DIST / "build.json"
    try:
        return str(int(stamp.stat().st_mtime))
    except OSError:
        return "0"


def built(entry: str) -> bool:
    return (DIST / f"{entry}.js").is_file()
