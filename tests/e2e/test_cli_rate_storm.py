"""The figure for a storm of 429s, in real time: `onyx sync` of 3 creators against a served sandbox answering every
API call 429 (``Retry-After: 1``, ``X-RateLimit-Remaining: 0``, the window resetting 60 s later) returns within 60 s
with the default job budget, exits 3, says per creator when to try again, and leaves the stored data as it was.

The sync runs as the real ``onyx`` process (``python -m onyx_adapters.cli``) with a 90 s timeout: before the job
budgets it sat out every window and took about ten minutes. docs/sync.md quotes the time measured here.
"""

from __future__ import annotations

import io
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from rich.console import Console
from served_sandbox import SECRET, handles
from sqlalchemy.engine import make_url

from onyx_adapters.cli import main
from onyx_adapters.cli.sync import tick_line
from onyx_adapters.cli.sync_display import print_reports
from onyx_adapters.scheduler import TickReport
from onyx_core.ids import CreatorId
from onyx_core.schedule import SyncJob
from onyx_core.stats import MissingReason
from onyx_core.usecases import CreatorSyncReport

CONTROL_KEY = "k"
CREATORS = 3
FIGURE_SECONDS = 60.0
HARD_TIMEOUT = 90.0
DATA_TABLES = ("agencies", "creators", "ledger_entries", "subscriber_days", "top_spenders", "tracking_links")


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    """`onyx sandbox --port 0` with 3 creators (overrides the 2-creator sandbox of conftest.py for this module)."""
    command = [sys.executable, "-m", "onyx_adapters.cli", "sandbox", "--port", "0", "--seed", "5"]
    command += ["--creators", str(CREATORS), "--days", "20", "--client-secret", SECRET, "--control-key", CONTROL_KEY]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:
            lines.append(line)
            if sum(" creator " in seen for seen in lines) == CREATORS or len(lines) > 40:
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


def control(served: dict[str, str], method: str, path: str, body: dict[str, Any] | None = None) -> None:
    response = httpx.request(
        method, f"{served['base']}/_sandbox{path}", json=body, headers={"X-Sandbox-Key": CONTROL_KEY}, timeout=10
    )
    assert response.is_success, response.text


def stored(database: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the data tables, each metric's value, and the stats events (for what a 429 may add)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        # all but the dashboard cache's data_version counters: flagging a value stale moves them on purpose
        rows = {}
        for table in DATA_TABLES:
            names = [c[1] for c in connection.execute(f"PRAGMA table_info({table})") if c[1] != "data_version"]
            rows[table] = sorted(connection.execute(f"SELECT {', '.join(names)} FROM {table}").fetchall())  # noqa: S608
        rows["creator_stats"] = sorted(
            connection.execute("SELECT creator_id, metric, value, observed_at, source FROM creator_stats").fetchall()
        )
        rows["events"] = connection.execute(
            "SELECT id, metric, kind, old_value, new_value FROM stats_events"
        ).fetchall()
    return rows


def onyx(env: dict[str, str], *args: str, timeout: float) -> tuple[int, str, float]:
    """Run the `onyx` command in its own process; its exit code, its output and the seconds it took."""
    started = time.monotonic()
    try:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "onyx_adapters.cli", *args],
            env={**{k: v for k, v in os.environ.items() if not k.startswith("ONYX_")}, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`onyx {' '.join(args)}` still ran after {timeout:.0f} s: a storm of 429s held it")
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


def test_a_storm_of_429s_ends_onyx_sync_within_a_minute_with_nothing_stored_changed(
    served: dict[str, str], env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    admin = handles(served, "admin")[0]
    assert main(["migrate"]) == 0
    assert main(["connect", "agency", "--agency-id", "acme", "--name", "Acme", "--login-hint", admin]) == 0
    assert main(["sync"]) == 0  # a clean first sync: there is data to keep
    capsys.readouterr()
    database = make_url(env["ONYX_DATABASE_URL"]).database or ""
    before = stored(database)
    assert before["ledger_entries"], "the clean sync stored nothing"

    control(served, "POST", "/clock/advance", {"seconds": 61})  # fresh windows: each storm 429 resets 60 s out
    control(served, "POST", "/faults", {"kind": "rate_limit", "retryAfter": 1})  # every API call
    try:
        code, output, seconds = onyx(env, "sync", timeout=HARD_TIMEOUT)
    finally:
        control(served, "DELETE", "/faults")

    sys.stderr.write(f"\nonyx sync of {CREATORS} creators under a total 429 storm: {seconds:.1f} s, exit {code}\n")
    assert code == 3, output
    assert seconds < FIGURE_SECONDS, f"{seconds:.1f} s"
    assert "Traceback" not in output
    creators = handles(served, "creator")
    partial = [line for line in output.splitlines() if line.split(":")[0] in creators and ": partial;" in line]
    assert len(partial) == CREATORS, output
    assert all(re.search(r"try again after \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", line) for line in partial), partial
    assert "rate_limited" in output

    after = stored(database)
    for table in (*DATA_TABLES, "creator_stats"):
        assert after[table] == before[table], table
    added = after["events"][len(before["events"]) :]
    assert after["events"][: len(before["events"])] == before["events"]
    assert {kind for _, _, kind, _, _ in added} <= {"marked_stale"}, added  # a 429 only ever flags a value stale


def test_a_throttled_tick_says_until_when() -> None:
    at = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    throttled = CreatorSyncReport(
        CreatorId("c-1"), failures={SyncJob.LINKS: MissingReason.RATE_LIMITED}, retry_at=at + timedelta(seconds=42)
    )
    failed = CreatorSyncReport(CreatorId("c-2"), failures={SyncJob.LINKS: MissingReason.ERROR})
    assert tick_line(TickReport(at, synced=[throttled, failed])).endswith(
        "2 creator(s) synced, 0 connection(s) checked, partial, Fanvue throttling until 2026-05-01 12:00:42 UTC"
    )
    assert tick_line(TickReport(at, synced=[failed])).endswith("partial")
    assert tick_line(TickReport(at)).endswith("ok")
    out = io.StringIO()
    print_reports([throttled, failed], {CreatorId("c-1"): "luna"}, Console(file=out, width=40))
    shown = out.getvalue().splitlines()
    assert shown[0].startswith("luna: partial;")
    assert shown[0].endswith("; Fanvue is throttling: try again after 2026-05-01 12:00:42 UTC")  # one line, unwrapped
    assert shown[1].endswith("; run again to complete it")
