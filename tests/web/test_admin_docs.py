"""docs/web-admin.md's role table is ROLE_PERMISSIONS: a permission added, dropped or moved in the core and not in
the docs (or the other way round) fails here. No database: it reads a file and a constant."""

from __future__ import annotations

from pathlib import Path

from onyx_core.accounts import ROLE_PERMISSIONS, Permission
from onyx_core.accounts.model import Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "web-admin.md"


def documented_permissions(text: str) -> dict[Role, set[Permission]]:
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| permission |"))
    columns = [cell.strip() for cell in lines[header].strip("|").split("|")]
    roles = [Role(name) for name in columns[1:5]]
    table: dict[Role, set[Permission]] = {role: set() for role in roles}
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        permission = Permission(cells[0].strip("`"))
        for role, cell in zip(roles, cells[1:5], strict=True):
            assert cell in {"yes", "no"}, line
            if cell == "yes":
                table[role].add(permission)
    return table


def test_the_documented_role_table_is_role_permissions() -> None:
    assert documented_permissions(DOC.read_text()) == {role: set(perms) for role, perms in ROLE_PERMISSIONS.items()}


def test_the_check_sees_a_wrong_cell() -> None:
    wrong = DOC.read_text().replace("| `read_audit` | yes | no |", "| `read_audit` | yes | yes |")
    assert documented_permissions(wrong) != {role: set(perms) for role, perms in ROLE_PERMISSIONS.items()}
