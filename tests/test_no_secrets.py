"""W11: a secret scan (detect-secrets) of the repository's tracked files reports 0 unaudited findings, and the same
check fails on a copy of the repository where a fake key has been planted.

Every finding must be in ``.secrets.baseline`` (matched by file, type and the SHA-1 of the string, not by line)
and audited as a false positive (``"is_secret": false``). The scan uses the plugins and filters the baseline
records, so it is the one ``detect-secrets scan`` did; it needs no network (no verification against live services).

One test does both halves so that the repository is scanned once (about 10 s in one process; a pool would fork
from pytest-xdist's threaded workers): in the planted copy, files whose path and bytes are unchanged reuse their
scan, while the planted files (one new, one changed) are scanned for real.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import string
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from detect_secrets.core import baseline
from detect_secrets.core.scan import scan_file
from detect_secrets.settings import get_settings, transient_settings

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ".secrets.baseline"
HOW_TO_FIX = f"""\
detect-secrets found strings that look like secrets and are not audited in {BASELINE}:
{{findings}}
A real secret? Remove it (and from the git history), and revoke it where it was issued.
Not a secret (a test fixture, an example)? Re-catalog and audit, then commit {BASELINE}:
    nox -s secrets
(that is `detect-secrets scan --no-verify --baseline {BASELINE}` then `detect-secrets audit {BASELINE}`:
answer "n" (not a secret) for each fixture), or end the line with the comment `pragma: allowlist secret`."""


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    type: str
    hashed_secret: str  # SHA-1 of the string, as detect-secrets stores it; the string itself is never kept

    def __str__(self) -> str:
        return f"    {self.path}:{self.line}: {self.type}"


ScanCache = dict[tuple[str, str], list[Finding]]


def tracked_files(root: Path) -> list[str]:
    command = ["git", "-C", str(root), "ls-files", "-z"]  # git from PATH, as detect-secrets itself runs it
    listed = subprocess.run(command, capture_output=True, check=True).stdout.decode()  # noqa: S603
    return sorted(name for name in listed.split("\0") if name and (root / name).is_file())


@contextmanager
def baseline_settings(root: Path) -> Iterator[dict[str, dict[tuple[str, str], bool | None]]]:
    """Configure detect-secrets from the baseline; yield {path: {(type, hashed_secret): is_secret}}."""
    data = baseline.load_from_file(str(root / BASELINE))
    with transient_settings({}):
        get_settings().clear()
        known = baseline.load(data, BASELINE)  # its plugins and filters, and skip the baseline file itself
        audited: dict[str, dict[tuple[str, str], bool | None]] = {}
        for path, found in known.data.items():
            audited[path] = {(s.type, s.secret_hash): s.is_secret for s in found}
        yield audited


def scan(root: Path, files: list[str], cache: ScanCache) -> list[Finding]:
    findings: list[Finding] = []
    for name in files:
        key = (name, hashlib.sha256((root / name).read_bytes()).hexdigest())
        if key not in cache:
            cache[key] = [
                Finding(name, secret.line_number, secret.type, secret.secret_hash)
                for secret in scan_file(str(root / name))
            ]
        findings.extend(cache[key])
    return findings


def unaudited_findings(root: Path, cache: ScanCache) -> list[Finding]:
    """The check: every finding in the tracked files must be in the baseline, audited as not a secret."""
    with baseline_settings(root) as audited:
        return sorted(
            finding
            for finding in scan(root, tracked_files(root), cache)
            if audited.get(finding.path, {}).get((finding.type, finding.hashed_secret), None) is not False
        )


def _fake_aws_key() -> str:
    return "".join(("AK", "IA")) + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))


def _fake_private_key() -> list[str]:
    body = [secrets.token_urlsafe(48).replace("-", "+").replace("_", "/")[:64] for _ in range(3)]
    kind = " ".join(("RSA", "PRIVATE", "KEY"))
    return [f"-----BEGIN {kind}-----", *body, f"-----END {kind}-----"]


def _copy_with_planted_keys(root: Path, destination: Path) -> tuple[str, str]:
    """Copy the tracked files, plant a fake AWS key in a new file and a private key block in an existing one,
    and track them in a fresh git repository there. Returns (new file, changed file)."""
    for name in tracked_files(root):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    new_file, changed_file = "deploy/production.env", "src/onyx_adapters/settings.py"
    (destination / new_file).parent.mkdir(parents=True, exist_ok=True)
    (destination / new_file).write_text(f"AWS_ACCESS_KEY_ID={_fake_aws_key()}\n")
    with (destination / changed_file).open("a") as out:
        out.write("\n" + "\n".join(f"# {line}" for line in _fake_private_key()) + "\n")
    for command in (["git", "init", "-q"], ["git", "add", "--all", "--force"]):  # tracked even if ignored
        subprocess.run(command, cwd=destination, check=True, capture_output=True)  # noqa: S603
    return new_file, changed_file


def test_w11_no_unaudited_secret_in_the_repository_and_a_planted_key_fails_the_check(tmp_path: Path) -> None:
    cache: ScanCache = {}
    in_repository = unaudited_findings(ROOT, cache)
    new_file, changed_file = _copy_with_planted_keys(ROOT, tmp_path)
    in_copy = unaudited_findings(tmp_path, cache)

    assert in_repository == [], HOW_TO_FIX.format(findings="\n".join(map(str, in_repository)))
    planted = [f for f in in_copy if f.path in {new_file, changed_file}]
    assert {(f.path, f.type) for f in planted} == {
        (new_file, "AWS Access Key"),
        (changed_file, "Private Key"),
    }
    # nothing else changed: the copy's other findings are the repository's
    assert [f for f in in_copy if f not in planted] == in_repository
