"""The chart library: plotly.js, as the ``plotly`` wheel from PyPI ships it (``plotly/package_data/plotly.min.js``),
served by the app itself: no CDN at run time and no copy of it in this repository.

Why plotly: its wheel is the one well-kept registry package that carries a complete browser chart library, so the
project's own ``pip install`` brings it; and since plotly.js 3 it can draw under a strict CSP. It inserts
``<style>`` elements only when no element with their id exists yet: the pages put ``<link>`` elements with those ids
(read here from the script, so a new plotly release cannot silently bring the inserts back) pointing at
``/static/plotly.css``, our few rules for its classes.

The script is 4-5 MB: it is sent gzip-compressed when the browser accepts it (compressed once per process) under
a URL with its version, cached for a year.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from importlib.resources import files

__all__ = ["ChartLibrary", "chart_library"]

_STYLE_GUARD = re.compile(rb'getElementById\("([A-Za-z0-9_.-]{1,100})"\)\)\{var \w+=document\.createElement\("style"\)')
_GLOBAL_STYLE_ID = "plotly.js-style-global"
"""The id of the element plotly.js keeps its own rules in; with the class ``no-inline-styles`` it adds none."""


@dataclass(frozen=True, slots=True)
class ChartLibrary:
    url: str
    """Where the pages load it from (versioned: a new release is a new URL)."""
    style_guards: tuple[str, ...]
    """The ids of the elements that keep plotly.js from inserting ``<style>`` elements."""
    script: bytes
    gzipped: bytes


@cache
def chart_library() -> ChartLibrary:
    script = files("plotly").joinpath("package_data", "plotly.min.js").read_bytes()
    guards = (_GLOBAL_STYLE_ID, *dict.fromkeys(m.decode() for m in _STYLE_GUARD.findall(script)))
    return ChartLibrary(
        url=f"/static/vendor/plotly-{version('plotly')}.min.js",
        style_guards=guards,
        script=script,
        gzipped=gzip.compress(script, compresslevel=6, mtime=0),
    )
