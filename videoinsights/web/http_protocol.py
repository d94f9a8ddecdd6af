"""uvicorn's httptools protocol with a bound on the request head (request line + headers).

httptools has no such limit, and it grows a header value by concatenation as
the bytes arrive, so a 32 MiB header costs seconds of copying before any
application code can look at it. This subclass counts the head's bytes as
they arrive and, past `max_head_bytes`, answers 431 at once, then drops what
the client still sends (briefly, so the client reads the answer rather than a
reset) and closes the connection.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_END_OF_HEAD = (b"\r\n\r\n", b"\n\n")
_DRAIN_BYTES = 64 * 1024 * 1024  # what a refused client may still send before we hang up
_DRAIN_SECONDS = 5.0


def _refusal(limit: int) -> bytes:
    message = b"The request headers are larger than %d bytes." % limit
    body = b'{"error":{"errorCode":null,"message":"%s","status":431}}' % message
    return (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)) + body


class HeadLimitedProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that refuses request heads over `max_head_bytes` with 431."""

    max_head_bytes = 64 * 1024

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._in_head = True
        self._head_seen = 0
        self._tail = b""
        self._drained: int | None = None  # bytes dropped since refusing; None while not refused

    def data_received(self, data: bytes) -> None:
        if self._drained is not None:
            self._drained += len(data)
            if self._drained > _DRAIN_BYTES:
                self.transport.close()
            return
        if self._in_head:
            room = max(0, self.max_head_bytes - self._head_seen)
            if len(data) > room:
                window = self._tail + data[:room]
                if not any(end in window for end in _END_OF_HEAD):
                    self._refuse()
                    return
            self._head_seen += len(data)
            self._tail = (self._tail + data)[-3:]
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head, self._head_seen, self._tail = True, 0, b""
        super().on_message_complete()

    def _refuse(self) -> None:
        self.logger.warning("Refused a request head over %d bytes from %s", self.max_head_bytes,
                            self.client[0] if self.client else "-")
        self._drained = 0
        self.transport.write(_refusal(self.max_head_bytes))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        asyncio.get_running_loop().call_later(_DRAIN_SECONDS, self.transport.close)

    def eof_received(self) -> bool | None:
        if self._drained is not None:
            self.transport.close()
            return None
        return super().eof_received()  # type: ignore[func-returns-value]


def head_limited_protocol(max_head_bytes: int) -> type[HeadLimitedProtocol]:
    """The protocol class for uvicorn's `http=` with this limit."""
    return type("HeadLimitedProtocol", (HeadLimitedProtocol,), {"max_head_bytes": max_head_bytes})
