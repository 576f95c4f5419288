"""The SDK installs with httpx, pydantic and tenacity alone: it imports nothing else outside the standard library."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import onyx_fanvue

SDK = Path(onyx_fanvue.__file__).parent
ALLOWED = set(sys.stdlib_module_names) | {"onyx_fanvue", "httpx", "pydantic", "pydantic_core", "tenacity"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_sdk_needs_only_its_three_dependencies():
    offenders = {
        str(path.relative_to(SDK)): sorted(imported_roots(path) - ALLOWED)
        for path in SDK.rglob("*.py")
        if "sandbox" not in path.relative_to(SDK).parts  # the sandbox is an optional extra
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_public_surface_is_importable_from_the_package():
    for name in onyx_fanvue.__all__:
        assert getattr(onyx_fanvue, name) is not None, name
