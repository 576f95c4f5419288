"""The file formats of an export, written chunk by chunk as the rows come from the database.

- CSV (RFC 4180, UTF-8, ``\\r\\n`` line ends): a header row of the column names, then one line per row; an empty
  cell is ``NULL``; instants are ISO 8601 UTC (``2026-01-02T03:04:05.123456Z``). A text cell that a spreadsheet
  would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return: fan handles and
  names are anyone's to choose) is written with a leading ``'``, which spreadsheets show as text (OWASP's CSV
  injection advice). Numbers (cents, counts) are never changed: a refund's ``-500`` stays a number.
- JSON: one JSON document, an array of objects (column name → value), written as it streams: ``[`` first, the
  objects separated by commas, ``]`` last. Values are exact (no neutralising): strings as stored, integers,
  ``null``, instants as ISO 8601 UTC strings.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import msgspec

__all__ = ["FORMULA_STARTS", "ExportFormat", "csv_cell", "encode", "iso_utc"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a text cell as a formula (or hides one behind a control character)."""


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"

    @property
    def media_type(self) -> str:
        return "text/csv; charset=utf-8" if self is ExportFormat.CSV else "application/json"


def iso_utc(moment: datetime) -> str:
    """``2026-01-02T03:04:05.123456Z`` (the microseconds only when there are some)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def csv_cell(value: Any) -> Any:
    """One value as a CSV cell: instants in ISO 8601 UTC, ``None`` empty, formula-like text neutralised."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    return value


async def _csv(columns: Sequence[str], chunks: AsyncIterator[Sequence[tuple[Any, ...]]]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    yield buffer.getvalue().encode()
    async for rows in chunks:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([csv_cell(value) for value in row] for row in rows)
        yield buffer.getvalue().encode()


async def _json(columns: Sequence[str], chunks: AsyncIterator[Sequence[tuple[Any, ...]]]) -> AsyncIterator[bytes]:
    encoder = msgspec.json.Encoder()
    yield b"["
    first = True
    async for rows in chunks:
        if not rows:
            continue
        # one array per chunk, its brackets dropped: the chunks' objects joined by commas make one array
        body = encoder.encode([dict(zip(columns, map(_json_value, row), strict=True)) for row in rows])[1:-1]
        yield body if first else b"," + body
        first = False
    yield b"]\n"


def encode(
    file_format: ExportFormat, columns: Sequence[str], chunks: AsyncIterator[Sequence[tuple[Any, ...]]]
) -> AsyncIterator[bytes]:
    """The file's bytes, a piece per chunk of rows (the header or ``[`` first, even without rows)."""
    return _csv(columns, chunks) if file_format is ExportFormat.CSV else _json(columns, chunks)
