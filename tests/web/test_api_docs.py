"""docs/api.md's examples run as written: every ```python block of the page, in order, against real ``onyx demo``,
``onyx sandbox`` and ``onyx serve`` processes, as the page tells a reader to run them.

The page's setup block logs in and makes a token on ``http://127.0.0.1:8000``; the test does the same steps on its
own port and gives the other blocks the two names the page promises (``api`` and ``creator_id``). A block that
raises fails the test with the block's heading and source. SQLite only: the endpoints' own tests cover both
engines; this one proves the documentation."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from serve_kit import onyx, onyx_env, sandbox_and_web
from web_helpers import KEY, sqlite_url

DOC = Path(__file__).parents[2] / "docs" / "api.md"
SEED = "1"
AGENCY = "sandbox-agency"
OWNER_EMAIL = "docs@sandbox-talent.test"
OWNER_PASSWORD = "api docs owner passphrase"  # pragma: allowlist secret

_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
_HEADING = re.compile(r"^#+ (.*)$", re.MULTILINE)


def examples(text: str) -> list[tuple[str, str]]:
    """Every ```python block of ``text`` with the heading it stands under."""
    found = []
    for block in _BLOCK.finditer(text):
        headings = _HEADING.findall(text, 0, block.start())
        found.append((headings[-1] if headings else "(top)", block.group(1)))
    return found


def test_the_page_has_examples_and_the_parser_finds_them() -> None:
    blocks = examples(DOC.read_text())
    assert len(blocks) >= 5
    assert blocks[0][0] == "Running the examples"
    assert "TOKEN = " in blocks[0][1]


def test_every_example_runs_against_onyx_serve_on_the_demo_database(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    keyed = onyx_env(cipher_keys=KEY)
    onyx("demo", "--once", "--database-url", url, "--seed", SEED, env=keyed)
    onyx(
        "users", "create-owner", "--agency-id", AGENCY, "--email", OWNER_EMAIL, "--name", "Docs",
        "--password-stdin", "--database-url", url, env=keyed, stdin=OWNER_PASSWORD + "\n",
    )  # fmt: skip
    [setup, *blocks] = examples(DOC.read_text())
    with sandbox_and_web(url, tmp_path, seed=SEED, days="90") as stack:
        # the setup block, on this test's port and with this owner
        source = setup[1].replace("http://127.0.0.1:8000", stack.web_base)
        source = source.replace("you@example.com", OWNER_EMAIL).replace("your password", OWNER_PASSWORD)
        namespace: dict[str, object] = {}
        exec(compile(source, "docs/api.md: Running the examples", "exec"), namespace)  # noqa: S102 (our own docs)
        api = namespace["api"]
        assert isinstance(api, httpx.Client)
        assert isinstance(namespace["creator_id"], str)
        try:
            for heading, code in blocks:
                scope = {"api": api, "creator_id": namespace["creator_id"]}
                try:
                    exec(compile(code, f"docs/api.md: {heading}", "exec"), scope)  # noqa: S102 (our own docs)
                except Exception as error:  # any failure of an example is the finding
                    pytest.fail(f"the example under {heading!r} failed: {error!r}\n{code}")
        finally:
            api.close()
