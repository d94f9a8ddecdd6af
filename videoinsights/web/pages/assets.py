"""/static: the pages' files, with the gzip copies the frontend build makes.

The explorer's editor is several megabytes of JavaScript; served gzipped it is
about a quarter of that, which matters once the server is not on localhost.
"""

from __future__ import annotations

import mimetypes
import stat

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope


class PrecompressedStaticFiles(StaticFiles):
    """StaticFiles that answers with `<file>.gz` when the browser accepts gzip and the copy exists."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        accepts = "gzip" in Headers(scope=scope).get("accept-encoding", "")
        if accepts and scope["method"] in ("GET", "HEAD") and not path.endswith(".gz"):
            full_path, stat_result = await anyio.to_thread.run_sync(self.lookup_path, path + ".gz")
            if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
                response = self.file_response(full_path, stat_result, scope)
                response.headers["content-type"] = mimetypes.guess_type(path)[0] or "application/octet-stream"
                response.headers["content-encoding"] = "gzip"
                response.headers["vary"] = "Accept-Encoding"
                return response
        return await super().get_response(path, scope)
