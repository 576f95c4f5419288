"""The query parameters of the export routes, typed so ``/schema`` describes them, and the response headers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import QueryParameter

from onyx_web.exports.formats import ExportFormat

__all__ = ["ROWS_HEADER", "CreatorFilter", "FormatQuery", "From", "Limit", "MetricFilter", "To", "Tz", "export_answer"]

NO_NUL = r"^[^\x00]*$"
"""Text filters refuse NUL with a 400: PostgreSQL refuses it in a string (W2 met a 500 with one)."""

CreatorFilter = Annotated[
    str | None,
    QueryParameter(
        name="creator_id",
        min_length=1,
        max_length=64,
        pattern=NO_NUL,
        description="Only this creator's rows (one you may see; any other id answers 404)",
    ),
]
From = Annotated[
    datetime | None,
    QueryParameter(
        name="from",
        description="Only rows at or after this instant (ISO 8601 with a UTC offset, e.g. 2026-01-01T00:00:00Z)",
    ),
]
To = Annotated[
    datetime | None,
    QueryParameter(name="to", description="Only rows before this instant (half-open: `from <= t < to`)"),
]
Tz = Annotated[
    str,
    QueryParameter(
        name="tz",
        min_length=1,
        max_length=64,
        pattern=NO_NUL,
        description="The IANA time zone whose calendar days the rows are summed by (e.g. Europe/Berlin)",
    ),
]
MetricFilter = Annotated[
    str | None,
    QueryParameter(
        name="metric",
        min_length=1,
        max_length=64,
        pattern=NO_NUL,
        description="Only this metric's events (e.g. subscribers)",
    ),
]
Limit = Annotated[
    int | None,
    QueryParameter(name="limit", ge=1, le=1_000_000, description="At most this many fans per creator (default: all)"),
]
FormatQuery = Annotated[
    ExportFormat, QueryParameter(name="format", description="`csv` (the default) or `json` (one JSON array)")
]


@dataclass
class ExportOperation(Operation):
    """An export operation in the OpenAPI document: its 200 answer is a file in either format, so both media
    types are declared (a :class:`ResponseSpec` names one): ``text/csv`` text, ``application/json`` an array of
    objects."""

    def __post_init__(self) -> None:
        answer = (self.responses or {}).get("200")
        if isinstance(answer, OpenAPIResponse) and answer.content is not None:
            answer.content["application/json"] = OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.OBJECT))
            )


def export_answer(description: str) -> ResponseSpec:
    """The 200 answer of an export route, as the OpenAPI document shows it (a file, in either format)."""
    return ResponseSpec(
        data_container=str,
        description=(
            f"{description}. CSV (`text/csv`, a header row first) or JSON (`application/json`, one array of "
            "objects), streamed; `Content-Disposition` names the file and `X-Export-Rows` gives the row count"
        ),
        media_type="text/csv",
        generate_examples=False,
    )


ROWS_HEADER = "X-Export-Rows"
