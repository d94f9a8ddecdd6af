"""Export records -> CSV or Parquet bytes, a batch at a time (a CSV chunk or a Parquet row group per
batch), so an export streams to a client or a file with flat memory however many rows it has."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from videoinsights.query.export import Column

MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
_ARROW = {"Float": pa.float64(), "Int": pa.int64(), "Boolean": pa.bool_(), "Date": pa.string(), "String": pa.string()}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def encode_csv(columns: Sequence[Column], batches: Iterable[list[dict[str, Any]]]) -> Iterator[bytes]:
    """A header line, then one chunk per batch (RFC 4180 quoting; empty cells for null)."""
    names = [c.name for c in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(names)
    yield buffer.getvalue().encode()
    for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_cell(record[n]) for n in names] for record in batch)
        yield buffer.getvalue().encode()


def arrow_schema(columns: Sequence[Column]) -> pa.Schema:
    return pa.schema([pa.field(c.name, _ARROW[c.type]) for c in columns])


class _Drain(io.RawIOBase):
    """A write-only sink whose bytes are taken out after every row group."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


def encode_parquet(columns: Sequence[Column], batches: Iterable[list[dict[str, Any]]]) -> Iterator[bytes]:
    """A Parquet file (zstd), one row group per batch; typed columns (dates as ISO strings, as the API)."""
    schema = arrow_schema(columns)
    sink = _Drain()
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for batch in batches:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            chunk = sink.take()
            if chunk:
                yield chunk
    yield sink.take()


def encode(fmt: str, columns: Sequence[Column], batches: Iterable[list[dict[str, Any]]]) -> Iterator[bytes]:
    return encode_parquet(columns, batches) if fmt == "parquet" else encode_csv(columns, batches)
