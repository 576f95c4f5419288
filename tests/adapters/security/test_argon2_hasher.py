"""Passwords and recovery codes at rest (A7, and A4's hashing): argon2id above the floor, production parameters
exactly m=65536 t=3 p=4, nothing weaker can be built, weaker stored hashes are flagged for rehash, and verify
answers False (never raises) for a wrong secret or an unreadable hash.

Every test hashes with :meth:`Argon2PasswordHasher.for_tests` (the floor, ~30 ms a hash) except
``test_production_parameters_are_exactly_m65536_t3_p4``; ``needs_rehash`` only reads a hash, so the production
hasher is used for it freely.
"""

from __future__ import annotations

import base64
import secrets

import argon2
import pytest
from argon2 import Type, extract_parameters

from onyx_adapters.security import Argon2PasswordHasher, WeakHashParametersError

PASSWORD = "correct horse battery staple"  # pragma: allowlist secret


@pytest.fixture(scope="module")
def hasher() -> Argon2PasswordHasher:
    return Argon2PasswordHasher.for_tests()


@pytest.fixture(scope="module")
def stored(hasher: Argon2PasswordHasher) -> str:
    return hasher.hash(PASSWORD)


def test_production_parameters_are_exactly_m65536_t3_p4() -> None:
    """A7: the default hasher is the production one; its hashes say argon2id, v=19, m=65536, t=3, p=4."""
    production = Argon2PasswordHasher()
    params = extract_parameters(production.hash(PASSWORD))
    assert params.type is Type.ID
    assert (params.version, params.memory_cost, params.time_cost, params.parallelism) == (19, 65536, 3, 4)
    assert (params.salt_len, params.hash_len) == (16, 32)
    assert (production.memory_kib, production.time_cost, production.parallelism) == (65536, 3, 4)


def test_a7_stored_hashes_are_argon2id_above_the_floor(stored: str) -> None:
    """A7: even the test-only hasher stores argon2id with m >= 19456 KiB and t >= 2 (it is that floor)."""
    params = extract_parameters(stored)
    assert stored.startswith("$argon2id$v=19$")
    assert params.type is Type.ID
    assert params.memory_cost >= 19456
    assert params.time_cost >= 2
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19456, 2, 1)


@pytest.mark.parametrize(
    ("memory_kib", "time_cost", "parallelism"),
    [(19455, 2, 1), (65536, 1, 4), (8, 1, 1), (65536, 3, 0), (0, 0, 0)],
)
def test_nothing_below_the_floor_can_be_built(memory_kib: int, time_cost: int, parallelism: int) -> None:
    with pytest.raises(WeakHashParametersError, match="m=19456"):
        Argon2PasswordHasher(memory_kib=memory_kib, time_cost=time_cost, parallelism=parallelism)


def test_stronger_parameters_may_be_chosen() -> None:
    bigger = Argon2PasswordHasher(memory_kib=131072, time_cost=4, parallelism=8)
    assert (bigger.memory_kib, bigger.time_cost, bigger.parallelism) == (131072, 4, 8)
    assert repr(bigger) == "Argon2PasswordHasher(m=131072, t=4, p=8)"


def test_verify_accepts_the_secret_and_refuses_any_other(hasher: Argon2PasswordHasher, stored: str) -> None:
    assert hasher.verify(stored, PASSWORD) is True
    for wrong in ("", PASSWORD.upper(), PASSWORD + " ", PASSWORD[:-1], "correct horse battery stapl\u0435"):
        assert hasher.verify(stored, wrong) is False
    # salted: the same secret never hashes the same twice, and each hash verifies
    again = hasher.hash(PASSWORD)
    assert again != stored
    assert hasher.verify(again, PASSWORD) is True
    unicode_secret = "Ünïcødé pässwörd ✓ 密码"
    assert hasher.verify(hasher.hash(unicode_secret), unicode_secret) is True


def _tampered(stored: str) -> str:
    head, digest = stored.rsplit("$", 1)
    raw = bytearray(base64.b64decode(digest + "=="))
    raw[0] ^= 1
    return f"{head}${base64.b64encode(bytes(raw)).decode().rstrip('=')}"


@pytest.mark.parametrize(
    "make_garbage",
    [
        lambda s: "",
        lambda s: "garbage",
        lambda s: "$argon2id$",
        lambda s: s[:-10],  # truncated
        lambda s: s.replace("$v=19$", "$v=99$"),
        lambda s: s.replace("m=19456", "m=abc"),
        lambda s: s.replace("$argon2id$", "$argon3id$"),
        lambda s: s + "é",  # not ASCII
        lambda s: s.rsplit("$", 1)[0] + "$!!!!",  # not base64
        _tampered,  # readable, wrong digest
        lambda s: "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",  # bcrypt  # pragma: allowlist secret
        lambda s: "5f4dcc3b5aa765d61d8327deb882cf99",  # md5  # pragma: allowlist secret
    ],
)
def test_verify_answers_false_for_unreadable_hashes_and_never_raises(
    hasher: Argon2PasswordHasher, stored: str, make_garbage
) -> None:
    assert hasher.verify(make_garbage(stored), PASSWORD) is False


@pytest.mark.parametrize("unreadable", ["", "garbage", "$argon2id$", "$argon2id$v=19$m=x,t=2,p=1$c2FsdA$aGFzaA"])
def test_an_unreadable_hash_needs_rehash(hasher: Argon2PasswordHasher, unreadable: str) -> None:
    assert hasher.needs_rehash(unreadable) is True


def _weak(**params: object) -> str:
    """A hash of PASSWORD made with argon2-cffi directly (cheap parameters unless asked otherwise)."""
    defaults: dict[str, object] = {"memory_cost": 19456, "time_cost": 2, "parallelism": 1, "type": Type.ID}
    return argon2.PasswordHasher(**(defaults | params)).hash(PASSWORD)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "weaker",
    [
        pytest.param({"memory_cost": 8, "time_cost": 1}, id="tiny-m-and-t"),
        pytest.param({"memory_cost": 19455}, id="m-below-floor"),
        pytest.param({"time_cost": 1}, id="t-below-floor"),
        pytest.param({"type": Type.I}, id="argon2i"),
        pytest.param({"type": Type.D}, id="argon2d"),
        pytest.param({"hash_len": 16}, id="short-digest"),
        pytest.param({"salt_len": 8}, id="short-salt"),
    ],
)
def test_a7_a_weaker_stored_hash_still_verifies_and_is_flagged_for_rehash(
    hasher: Argon2PasswordHasher, weaker: dict[str, object]
) -> None:
    """A7: at the next successful login the use case sees needs_rehash and stores a new hash."""
    weak = _weak(**weaker)
    assert hasher.verify(weak, PASSWORD) is True
    assert hasher.verify(weak, "wrong") is False
    assert hasher.needs_rehash(weak) is True
    assert Argon2PasswordHasher().needs_rehash(weak) is True


def test_production_flags_the_floor_and_lower_lanes_but_not_its_own(stored: str) -> None:
    production = Argon2PasswordHasher()
    assert production.needs_rehash(stored) is True  # m=19456, t=2, p=1 < production
    fewer_lanes = stored.replace("m=19456,t=2,p=1", "m=65536,t=3,p=2")  # only parsed, never verified here
    assert production.needs_rehash(fewer_lanes) is True
    own = stored.replace("m=19456,t=2,p=1", "m=65536,t=3,p=4")
    assert production.needs_rehash(own) is False
    stronger = stored.replace("m=19456,t=2,p=1", "m=131072,t=4,p=8")
    assert production.needs_rehash(stronger) is False


def test_the_floor_hasher_does_not_flag_its_own_or_stronger_hashes(hasher: Argon2PasswordHasher, stored: str) -> None:
    assert hasher.needs_rehash(stored) is False
    assert hasher.needs_rehash(stored.replace("m=19456,t=2,p=1", "m=65536,t=3,p=4")) is False


def _recovery_code() -> str:
    """The shape the core issues: 12 base32 characters (60 bits) shown as xxxx-xxxx-xxxx."""
    raw = base64.b32encode(secrets.token_bytes(8)).decode()[:12].lower()
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def test_a4_recovery_codes_are_stored_as_argon2id_hashes_that_only_their_code_opens(
    hasher: Argon2PasswordHasher,
) -> None:
    """A4 (the hashing part): 10 recovery codes hash to 10 distinct argon2id hashes above the floor; each hash
    verifies its own code and not the next one's, and no hash contains its code."""
    codes = [_recovery_code() for _ in range(10)]
    assert len(set(codes)) == 10
    hashes = [hasher.hash(code) for code in codes]
    assert len(set(hashes)) == 10
    for code, code_hash in zip(codes, hashes, strict=True):
        params = extract_parameters(code_hash)
        assert params.type is Type.ID
        assert params.memory_cost >= 19456
        assert params.time_cost >= 2
        assert code not in code_hash
        assert code.replace("-", "") not in code_hash.lower()
    for i, code_hash in enumerate(hashes):
        assert hasher.verify(code_hash, codes[i]) is True
        assert hasher.verify(code_hash, codes[(i + 1) % 10]) is False
