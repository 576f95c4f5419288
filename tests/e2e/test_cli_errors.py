"""The error boundary of the ``onyx`` command: the real entry point in subprocesses, ``--debug``, unexpected errors,
Ctrl-C, a read-only SQLite database (really read-only, also for root), and the scheduler's failed-step lines."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from onyx_adapters.cli import main
from onyx_adapters.cli.errors import EXIT_INTERRUPTED, EXIT_UNEXPECTED, run_command
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.runtime import FanvueApp, Runtime
from onyx_adapters.scheduler import Scheduler, TickReport
from onyx_adapters.sql.migrate import upgrade
from onyx_fanvue import Secret

PASSWORD = "hunter2-never-shown"


def _onyx(*args: str, env: dict[str, str], prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real entry point (``python -m onyx_adapters.cli`` is what the ``onyx`` script runs)."""
    return subprocess.run(  # noqa: S603
        [*(prefix or []), sys.executable, "-m", "onyx_adapters.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )


@pytest.fixture
def settings(tmp_path: Path) -> dict[str, str]:
    return {
        "ONYX_DATABASE_URL": f"sqlite:///{tmp_path / 'onyx.db'}",
        "ONYX_CIPHER_KEYS": FernetCipher.generate_key(),
        "ONYX_FANVUE_CLIENT_ID": "onyx",
        "ONYX_FANVUE_CLIENT_SECRET": PASSWORD,
        "ONYX_FANVUE_API_URL": "http://127.0.0.1:9",
        "ONYX_FANVUE_AUTH_URL": "http://127.0.0.1:9/oauth2",
    }


@pytest.mark.parametrize(
    ("args", "url", "says"),
    [
        (["sync"], f"postgres://onyx:{PASSWORD}@127.0.0.1:abc/onyx", "port is not a number"),
        (["migrate"], "sqlite://", "in-memory"),
        (["schedule", "--ticks", "1"], "corrupt", "not a database"),
    ],
)
def test_the_real_entry_point_prints_one_line_and_exits_1(
    args: list[str], url: str, says: str, settings: dict[str, str], tmp_path: Path
) -> None:
    if url == "corrupt":
        (tmp_path / "onyx.db").write_bytes(os.urandom(4096))
        url = settings["ONYX_DATABASE_URL"]
    before = sorted(tmp_path.iterdir())
    done = _onyx(*args, env={**settings, "ONYX_DATABASE_URL": url})
    assert done.returncode == 1, done
    assert "Traceback" not in done.stdout + done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"onyx {args[0]}: ")
    assert says in done.stderr
    assert sorted(tmp_path.iterdir()) == before


def test_debug_shows_the_traceback_before_the_line(settings: dict[str, str]) -> None:
    garbage = {**settings, "ONYX_DATABASE_URL": "nonsense"}
    for args in (["--debug", "sync"], ["sync", "--debug"]):
        done = _onyx(*args, env=garbage)
        assert done.returncode == 1
        assert "Traceback (most recent call last)" in done.stderr
        assert "DatabaseUrlError" in done.stderr
        assert done.stderr.strip().splitlines()[-1].startswith("onyx sync: the database URL is not a database URL")
    quiet = _onyx("sync", env=garbage)
    assert "Traceback" not in quiet.stderr


def test_an_unexpected_error_is_one_line_that_names_where_but_not_what(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(_: object) -> int:
        raise ValueError(f"token {PASSWORD}")  # a bug's message may hold anything: it is not printed

    commands = importlib.import_module("onyx_adapters.cli.main")._COMMANDS  # the package's `main` is the function
    monkeypatch.setitem(commands, "migrate", broken)
    assert main(["migrate"]) == EXIT_UNEXPECTED
    err = capsys.readouterr().err
    assert re.fullmatch(
        r"onyx migrate: unexpected error \(ValueError at test_cli_errors\.py:\d+\); "
        r"run again with --debug for the traceback\n",
        err,
    ), err
    assert main(["migrate", "--debug"]) == EXIT_UNEXPECTED
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert PASSWORD in err  # --debug shows everything: it is the user's own terminal, asked for


def test_no_log_line_of_any_library_shows_a_token_the_process_holds(capsys: pytest.CaptureFixture[str]) -> None:
    token = Secret("ory_at_held-by-this-process-0123456789")  # a Secret is remembered for scrubbing

    def chatty() -> int:
        logging.getLogger("procrastinate.worker").warning("job failed with %s", token.get_secret_value())
        return 0

    assert run_command("worker", chatty, debug=True) == 0
    err = capsys.readouterr().err
    assert "job failed with [redacted]" in err
    assert token.get_secret_value() not in err


def test_ctrl_c_is_a_line_and_exit_130(capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted() -> int:
        raise KeyboardInterrupt

    assert run_command("sync", interrupted, debug=False) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "onyx sync: interrupted\n"


def _without_root_powers() -> list[str]:
    """A command prefix that makes file permissions bind: as root, drop the capabilities that bypass them
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so a 0444 file is as read-only to the command as to anyone."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("as root, this test needs util-linux's setpriv to drop CAP_DAC_OVERRIDE")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]


def _read_only(tmp_path: Path, what: str) -> tuple[Path, str]:
    """A migrated SQLite database made read-only: the file, its folder, or both."""
    folder = tmp_path / "data"
    database = folder / "onyx.db"
    url = f"sqlite:///{database}"
    upgrade(url)
    database.chmod(0o444 if what in ("file", "both") else 0o644)
    folder.chmod(0o555 if what in ("folder", "both") else 0o755)
    return folder, url


@pytest.mark.parametrize("what", ["file", "folder", "both"])
@pytest.mark.parametrize(
    "args",
    [
        ["migrate"],
        ["sync"],
        ["schedule", "--ticks", "1"],
        ["connect", "agency", "--agency-id", "acme", "--name", "Acme", "--timeout", "1"],
        ["keys", "rotate"],
    ],
    ids=lambda args: args[0],
)
def test_a_read_only_sqlite_database_is_refused_and_left_as_it_was(
    what: str, args: list[str], settings: dict[str, str], tmp_path: Path
) -> None:
    folder, url = _read_only(tmp_path, what)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    try:
        done = _onyx(*args, env={**settings, "ONYX_DATABASE_URL": url}, prefix=_without_root_powers())
    finally:
        folder.chmod(0o755)
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.count("\n") == 1, done.stderr
    assert "read-only" in done.stderr
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before


PROBE = """
import asyncio, sys
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.migrate import check_database
from onyx_adapters.sql.errors import DatabaseReadOnlyError

async def probe():
    engine = create_engine(sys.argv[1])
    try:
        await check_database(engine)
    except DatabaseReadOnlyError as error:
        print("refused:", error)
    else:
        print("writable")
    finally:
        await engine.dispose()

asyncio.run(probe())
"""


@pytest.mark.parametrize("what", ["file", "both"])
def test_the_database_check_itself_finds_a_read_only_sqlite_file(what: str, tmp_path: Path) -> None:
    """Beneath the CLI's file-permission check: the engine's own write probe (SQLite grants BEGIN IMMEDIATE on a
    read-only file, so the probe must really write) refuses, and the file's bytes stay as they were."""
    folder, url = _read_only(tmp_path, what)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    command = [*_without_root_powers(), sys.executable, "-c", PROBE, url]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    finally:
        folder.chmod(0o755)
    assert done.stdout.startswith("refused: the SQLite database is read-only"), done
    assert (folder / "onyx.db").read_bytes() == before["onyx.db"]
    # SQLite may leave its index (-shm) and an empty log (-wal) beside a file it could not write; never data
    assert not (folder / "onyx.db-wal").exists() or (folder / "onyx.db-wal").stat().st_size == 0


def test_a_failing_scheduler_step_is_one_warning_line_and_a_traceback_only_with_debug(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A long-running heartbeat keeps going when a step fails (here: the database changed under it) and says so in
    one line per step, not a page of traceback per step and tick."""
    url = f"sqlite:///{tmp_path / 'onyx.db'}"
    upgrade(url)
    with sqlite3.connect(tmp_path / "onyx.db") as db:
        db.execute("DROP TABLE agencies")
    app = FanvueApp("onyx", PASSWORD, "http://127.0.0.1:9/callback", "http://127.0.0.1:9", "http://127.0.0.1:9")
    cipher = FernetCipher([FernetCipher.generate_key()])

    async def tick() -> TickReport:
        async with app.oauth_client() as oauth, Runtime.open(url, cipher, oauth) as runtime:
            return await Scheduler(runtime).tick()

    for debug in (False, True):
        reports: list[TickReport] = []

        def body(reports: list[TickReport] = reports) -> int:
            reports.append(asyncio.run(tick()))
            return 0

        assert run_command("schedule", body, debug=debug) == 0
        assert "agencies" in reports[0].failures
        err = capsys.readouterr().err
        assert "WARNING onyx.scheduler: agencies failed: the database has no Onyx schema" in err, err
        assert "run `onyx migrate`" in err
        if debug:
            assert "Traceback" in err
        else:
            assert "Traceback" not in err
            assert len(err.strip().splitlines()) == len(reports[0].failures), err
