"""What the command-line tests share about the served sandbox (the fixture itself is in conftest.py)."""

from __future__ import annotations

SECRET = "cli-sync-secret"  # the sandbox's made-up client secret


def handles(served: dict[str, str], role: str) -> list[str]:
    """The seeded users of ``served`` whose role mentions ``role`` ("admin", "creator")."""
    return [key.split(":", 1)[1] for key, value in served.items() if key.startswith("user:") and role in value]
