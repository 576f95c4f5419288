"""Checks that a sandbox answer is complete for the SDK's model: every declared field was in the JSON (none left to
a default) and nothing arrived that the model does not know."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from onyx_fanvue import Money


def gaps(value: Any, path: str = "$", optional: Iterable[str] = ()) -> list[str]:
    """Paths of fields the JSON left out (``missing:``) or added (``extra:``). ``optional`` names fields Fanvue
    documents as sometimes absent (by alias, e.g. ``messageUuid``)."""
    allowed = set(optional)
    out: list[str] = []
    if isinstance(value, Money):  # parsed from bare cents: a leaf, not an object of the answer
        return out
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        for name, info in fields.items():
            alias = info.alias or name
            if name not in value.model_fields_set and alias not in allowed:
                out.append(f"missing: {path}.{alias}")
            out += gaps(getattr(value, name), f"{path}.{alias}", allowed)
        out += [f"extra: {path}.{k}" for k in (value.model_extra or {})]
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            out += gaps(item, f"{path}[{i}]", allowed)
    elif isinstance(value, dict):
        for key, item in value.items():
            out += gaps(item, f"{path}.{key}", allowed)
    return out


def assert_complete(value: Any, optional: Iterable[str] = ()) -> None:
    problems = gaps(value, optional=optional)
    assert not problems, problems
