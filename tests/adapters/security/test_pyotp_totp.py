"""The TOTP algorithm behind the accounts port: A1 (the ±1 step window over 1,000 random secrets), A5 (secrets of
at least 160 bits), the step number it answers, what counts as a code, and the comparison of every candidate.

Codes are computed by an independent RFC 6238 implementation (below, checked against the RFC's own test vectors),
not by pyotp, so a bug shared by the adapter and its library would still show.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import struct
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from onyx_adapters.security import totp as totp_module
from onyx_adapters.security.totp import PyotpTotp
from onyx_core.errors import NaiveDatetimeError

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()  # RFC 6238 Appendix B, SHA-1


def reference_code(secret: str, unix: int) -> str:
    """RFC 6238 / RFC 4226: HMAC-SHA-1 of the 30 s counter, dynamic truncation, 6 digits."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", unix // 30), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


@pytest.mark.parametrize(
    ("unix", "eight_digits"),
    [(59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"), (1234567890, "89005924"),
     (2000000000, "69279037"), (20000000000, "65353130")],
)  # fmt: skip
def test_the_reference_matches_rfc_6238_vectors(unix: int, eight_digits: str) -> None:
    assert reference_code(RFC_SECRET, unix) == eight_digits[-6:]
    assert PyotpTotp().code_at(RFC_SECRET, unix // 30) == eight_digits[-6:]


def test_a1_window_one_accepts_the_neighbour_steps_and_rejects_two_away_for_1000_random_secrets() -> None:
    """A1: valid_window=1, frozen clock: codes of t-30 s, t, t+30 s accepted (with their step), t±60 s rejected,
    for 100 % of 1,000 random secrets (seeded, so a failure replays; the frozen instants fall anywhere in a step,
    step boundaries included)."""
    rng = random.Random(20261203)
    totp = PyotpTotp()
    accepted = rejected = 0
    failures: list[str] = []
    for i in range(1000):
        secret = base64.b32encode(rng.randbytes(20)).decode()
        unix = rng.randrange(1_500_000_000, 2_500_000_000)
        if i < 10:
            unix -= unix % 30  # exactly on a boundary
        elif i < 20:
            unix += 29 - unix % 30  # the last second of a step
        t = datetime.fromtimestamp(unix, UTC) + timedelta(microseconds=rng.randrange(1_000_000))
        step = unix // 30
        codes = {delta: reference_code(secret, unix + delta) for delta in (-60, -30, 0, 30, 60)}
        # a code shared by two steps of the window would make "rejected" wrong: this seed has none
        assert len(set(codes.values())) == 5, f"secret #{i}: two steps share a code; pick another seed"
        for delta in (-30, 0, 30):
            got = totp.matching_step(secret, codes[delta], t, 1)
            accepted += got == step + delta // 30
            if got != step + delta // 30:
                failures.append(f"#{i} t{delta:+d}s: {got} != {step + delta // 30}")
        for delta in (-60, 60):
            got = totp.matching_step(secret, codes[delta], t, 1)
            rejected += got is None
            if got is not None:
                failures.append(f"#{i} t{delta:+d}s accepted as step {got}")
    assert failures == []
    assert (accepted, rejected) == (3000, 2000)


def test_the_step_is_floor_of_unix_time_over_30() -> None:
    at = datetime.fromtimestamp(1111111109, UTC)  # step 37037036
    assert PyotpTotp().matching_step(RFC_SECRET, "081804", at, 1) == 37037036
    assert PyotpTotp().matching_step(RFC_SECRET, "081804", at + timedelta(seconds=30), 1) == 37037036
    assert PyotpTotp().matching_step(RFC_SECRET, "081804", at + timedelta(seconds=30), 0) is None
    # an instant in another zone is the same instant
    other_zone = at.astimezone(timezone(timedelta(hours=-7)))
    assert PyotpTotp().matching_step(RFC_SECRET, "081804", other_zone, 0) == 37037036


def test_window_zero_accepts_only_the_current_step() -> None:
    at = datetime.fromtimestamp(1_800_000_015, UTC)
    secret = PyotpTotp().new_secret()
    assert PyotpTotp().matching_step(secret, reference_code(secret, 1_800_000_015), at, 0) == 60_000_000
    assert PyotpTotp().matching_step(secret, reference_code(secret, 1_800_000_045), at, 0) is None


def _to_arabic_indic(code: str) -> str:
    return "".join(chr(0x0660 + int(c)) for c in code)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:5],
        lambda c: c + "0",
        lambda c: "0" + c,
        lambda c: f" {c}",
        lambda c: f"{c}\n",
        lambda c: f"{c[:3]} {c[3:]}",
        lambda c: f"{c[:3]}-{c[3:]}",
        _to_arabic_indic,  # str.isdigit() says True for these
        lambda c: "",
    ],
)
def test_only_six_ascii_digits_are_a_code(mangle) -> None:
    at = datetime.fromtimestamp(1_800_000_015, UTC)
    secret = PyotpTotp().new_secret()
    code = reference_code(secret, 1_800_000_015)
    assert PyotpTotp().matching_step(secret, code, at, 1) == 60_000_000
    assert PyotpTotp().matching_step(secret, mangle(code), at, 1) is None


def test_every_candidate_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether the code matches the current step, another one or none, the window's 2w+1 codes are all compared
    with hmac.compare_digest (no early exit whose timing would tell which step matched)."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(totp_module.hmac, "compare_digest", counting)
    at = datetime.fromtimestamp(1_800_000_015, UTC)
    secret = PyotpTotp().new_secret()
    for code in (reference_code(secret, 1_800_000_015), reference_code(secret, 1_799_999_985), "000000", "abc"):
        for window in (0, 1, 2):
            calls.clear()
            PyotpTotp().matching_step(secret, code, at, window)
            assert len(calls) == 2 * window + 1


def test_naive_instants_and_negative_windows_are_refused() -> None:
    secret = PyotpTotp().new_secret()
    with pytest.raises(NaiveDatetimeError):
        PyotpTotp().matching_step(secret, "123456", datetime(2026, 1, 1), 1)
    with pytest.raises(ValueError, match="window"):
        PyotpTotp().matching_step(secret, "123456", datetime.now(UTC), -1)


def test_a5_secrets_have_at_least_160_random_bits_and_never_repeat() -> None:
    """A5: 2,000 fresh secrets: base32, >= 160 bits each, all distinct, and their bits look like coin flips."""
    secrets = [PyotpTotp().new_secret() for _ in range(2000)]
    decoded = [base64.b32decode(s + "=" * (-len(s) % 8)) for s in secrets]
    assert min(len(d) * 8 for d in decoded) >= 160
    assert len(set(secrets)) == len(secrets)
    assert all(set(s) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for s in secrets)
    ones = sum(bin(b).count("1") for d in decoded for b in d)
    bits = sum(len(d) * 8 for d in decoded)
    assert abs(ones / bits - 0.5) < 0.005  # 320,000 bits: 0.005 is > 5 standard deviations


def test_provisioning_uri_names_the_account_the_issuer_and_the_secret() -> None:
    secret = PyotpTotp().new_secret()
    uri = PyotpTotp().provisioning_uri(secret, "ada+ops@example.com", "Onyx Agency")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == "/Onyx Agency:ada+ops@example.com"
    query = parse_qs(parts.query)
    assert query["secret"] == [secret]
    assert query["issuer"] == ["Onyx Agency"]
    assert query.get("digits", ["6"]) == ["6"]
    assert query.get("period", ["30"]) == ["30"]
    assert query.get("algorithm", ["SHA1"]) == ["SHA1"]
