"""The served sandbox the command-line tests talk to over real HTTP on loopback."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from served_sandbox import SECRET

from onyx_adapters.crypto import FernetCipher


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    """`onyx sandbox --port 0` in a subprocess: its base URL and seeded users (handle -> role)."""
    command = [sys.executable, "-m", "onyx_adapters.cli", "sandbox", "--port", "0", "--seed", "3", "--creators", "2"]
    command += ["--days", "30", "--client-secret", SECRET, "--control-key", "k"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:
            lines.append(line)
            if sum(" creator " in seen for seen in lines) == 2 or len(lines) > 40:  # the last user line
                break
        banner = "".join(lines)
        base = re.search(r"at (http://\S+)", banner)
        assert base is not None, banner
        users = dict(re.findall(r"^\s{4}(\S+)\s+(.+?)\s+[0-9a-f-]{36}$", banner, re.MULTILINE))
        yield {"base": base.group(1), **{f"user:{h}": role for h, role in users.items()}}
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def env(served: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "ONYX_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'onyx.db'}",
        "ONYX_CIPHER_KEYS": FernetCipher.generate_key(),
        "ONYX_FANVUE_CLIENT_ID": "onyx-sandbox-client",
        "ONYX_FANVUE_CLIENT_SECRET": SECRET,
        "ONYX_FANVUE_API_URL": served["base"],
        "ONYX_FANVUE_AUTH_URL": f"{served['base']}/oauth2",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values
