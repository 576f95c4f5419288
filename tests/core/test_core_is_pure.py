"""onyx_core imports only the standard library and itself (its public test kit may use hypothesis)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import onyx_core

CORE = Path(onyx_core.__file__).parent
TEST_KIT_MAY_USE = {"hypothesis"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_modules_import_only_the_standard_library():
    offenders = {}
    for path in CORE.rglob("*.py"):
        allowed = set(sys.stdlib_module_names) | {"onyx_core"}
        if "testing" in path.relative_to(CORE).parts:
            allowed |= TEST_KIT_MAY_USE
        foreign = imported_roots(path) - allowed
        if foreign:
            offenders[str(path.relative_to(CORE))] = sorted(foreign)
    assert offenders == {}


def test_core_does_no_io():
    # No sockets, files, subprocesses or environment reads in the domain (the test kit's fakes are in memory).
    forbidden = {"socket", "subprocess", "os", "shutil", "urllib", "http", "sqlite3", "io", "pathlib", "random"}
    offenders = {str(path.relative_to(CORE)): sorted(imported_roots(path) & forbidden) for path in CORE.rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}
