"""The pages' templates (``onyx_web/pages/templates``, Jinja2 with autoescaping on: a name from the database is
always text, never markup) and the public pages' bodies (``onyx_web/pages/html``)."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

__all__ = ["render"]


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("onyx_web.pages", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,  # a missing value is a bug to see, not an empty string on a page
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context: Any) -> str:
    """The whole HTML document of ``template`` with ``context``."""
    return _environment().get_template(template).render(**context)
