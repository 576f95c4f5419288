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
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import msgspec

from onyx_core.exports import INSTANT_COLUMNS, NUMBER_COLUMNS

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
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat().replace("+00:00", "Z")


def csv_cell(value: Any) -> Any:
    """One value as a CSV cell: instants in ISO 8601 UTC, ``None`` empty, formula-like text neutralised."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_row(columns: Sequence[str]) -> Callable[[Sequence[Any]], list[Any]]:
    """A row's cells by the columns' kinds: a million rows make the per-value checks the export's main cost, so
    only the text and instant columns are looked at (``csv`` writes ``None`` as an empty cell itself)."""
    texts = [i for i, name in enumerate(columns) if name not in NUMBER_COLUMNS and name not in INSTANT_COLUMNS]
    instants = [i for i, name in enumerate(columns) if name in INSTANT_COLUMNS]

    def cells(row: Sequence[Any]) -> list[Any]:
        values = list(row)
        for i in texts:
            text = values[i]
            if text is not None and text.startswith(FORMULA_STARTS):
                values[i] = "'" + text
        for i in instants:
            moment = values[i]
            if moment is not None:
                values[i] = iso_utc(moment)
        return values

    return cells


async def _csv(columns: Sequence[str], chunks: AsyncIterator[Sequence[Sequence[Any]]]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    yield buffer.getvalue().encode()
    cells = _csv_row(columns)
    async for rows in chunks:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(map(cells, rows))
        yield buffer.getvalue().encode()


async def _json(columns: Sequence[str], chunks: AsyncIterator[Sequence[Sequence[Any]]]) -> AsyncIterator[bytes]:
    # msgspec writes an aware UTC datetime as ISO 8601 with "Z", as the CSV does
    encoder = msgspec.json.Encoder()
    yield b"["
    first = True
    async for rows in chunks:
        if not rows:
            continue
        # one array per chunk, its brackets dropped: the chunks' objects joined by commas make one array
        body = encoder.encode([dict(zip(columns, row, strict=True)) for row in rows])[1:-1]
        yield body if first else b"," + body
        first = False
    yield b"]\n"


def encode(
    file_format: ExportFormat, columns: Sequence[str], chunks: AsyncIterator[Sequence[Sequence[Any]]]
) -> AsyncIterator[bytes]:
    """The file's bytes, a piece per chunk of rows (the header or ``[`` first, even without rows)."""
    return _csv(columns, chunks) if file_format is ExportFormat.CSV else _json(columns, chunks)
