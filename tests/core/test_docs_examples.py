"""The examples in docs/ marked ``<!-- runnable -->`` run, so the documentation cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"<!-- runnable -->\s*```python\n(.*?)```", re.DOTALL)
EXAMPLES = [
    pytest.param(code, id=f"{path.name}#{n}")
    for path in sorted(DOCS.glob("*.md"))
    for n, code in enumerate(BLOCK.findall(path.read_text()), 1)
]


def test_there_are_runnable_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("code", EXAMPLES)
def test_documented_example_runs(code):
    exec(compile(code, "<docs>", "exec"), {"__name__": "__docs__"})  # noqa: S102 - our own docs, on purpose
