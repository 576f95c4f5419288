"""Passwords and recovery codes at rest: argon2id (argon2-cffi) behind the core's
:class:`~onyx_core.accounts.ports.PasswordHasher` port.

Production parameters are OWASP's first argon2id choice: 64 MiB of memory, 3 passes, 4 lanes
(``m=65536, t=3, p=4``). Nothing weaker than OWASP's floor (``m=19456`` KiB, ``t=2``) can be built at all, not even
for tests: :meth:`Argon2PasswordHasher.for_tests` *is* that floor (with one lane), about four times faster than
production and still a hash the requirement A7 accepts. A hash stored under weaker settings (fewer KiB, passes,
lanes or bytes, or argon2i/argon2d) still verifies, and :meth:`~Argon2PasswordHasher.needs_rehash` asks for it to
be replaced at the next successful login.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from argon2 import PasswordHasher as _Argon2
from argon2 import Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import ARGON2_VERSION

from onyx_core.accounts.ports import PasswordHasher
from onyx_core.errors import OnyxError

__all__ = [
    "FLOOR_MEMORY_KIB",
    "FLOOR_TIME_COST",
    "PRODUCTION_MEMORY_KIB",
    "PRODUCTION_PARALLELISM",
    "PRODUCTION_TIME_COST",
    "Argon2PasswordHasher",
    "WeakHashParametersError",
]

PRODUCTION_MEMORY_KIB: Final = 65536
PRODUCTION_TIME_COST: Final = 3
PRODUCTION_PARALLELISM: Final = 4
FLOOR_MEMORY_KIB: Final = 19456
"""The least memory (KiB) an Onyx hasher may use: OWASP's minimum argon2id configuration (19 MiB, 2 passes)."""
FLOOR_TIME_COST: Final = 2
HASH_BYTES: Final = 32
SALT_BYTES: Final = 16


class WeakHashParametersError(OnyxError, ValueError):
    """Argon2 parameters below Onyx's floor (``m=19456`` KiB, ``t=2``, ``p=1``) were asked for."""


class Argon2PasswordHasher:
    """argon2id hashes of passwords and recovery codes (implements :class:`~onyx_core.accounts.ports.PasswordHasher`).

    ``Argon2PasswordHasher()`` uses the production parameters; other ones may be given (more memory or passes on
    a bigger server), but never below the floor: :class:`WeakHashParametersError`.
    """

    __slots__ = ("_argon2",)

    def __init__(
        self,
        *,
        memory_kib: int = PRODUCTION_MEMORY_KIB,
        time_cost: int = PRODUCTION_TIME_COST,
        parallelism: int = PRODUCTION_PARALLELISM,
    ) -> None:
        if memory_kib < FLOOR_MEMORY_KIB or time_cost < FLOOR_TIME_COST or parallelism < 1:
            raise WeakHashParametersError(
                f"argon2id needs at least m={FLOOR_MEMORY_KIB} KiB, t={FLOOR_TIME_COST}, p=1 "
                f"(asked for m={memory_kib}, t={time_cost}, p={parallelism})"
            )
        self._argon2 = _Argon2(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=HASH_BYTES,
            salt_len=SALT_BYTES,
            type=Type.ID,
        )

    @classmethod
    def for_tests(cls) -> Argon2PasswordHasher:
        """For test suites only: the floor parameters (``m=19456, t=2, p=1``, about 30 ms a hash instead of about
        120 ms). Its hashes still meet A7, and a production hasher flags them for rehash."""
        return cls(memory_kib=FLOOR_MEMORY_KIB, time_cost=FLOOR_TIME_COST, parallelism=1)

    @property
    def memory_kib(self) -> int:
        return self._argon2.memory_cost

    @property
    def time_cost(self) -> int:
        return self._argon2.time_cost

    @property
    def parallelism(self) -> int:
        return self._argon2.parallelism

    def __repr__(self) -> str:
        return f"Argon2PasswordHasher(m={self.memory_kib}, t={self.time_cost}, p={self.parallelism})"

    def hash(self, secret: str) -> str:
        """A fresh ``$argon2id$v=19$m=…,t=…,p=…$salt$hash`` string (a random salt per call)."""
        return self._argon2.hash(secret)

    def verify(self, stored_hash: str, secret: str) -> bool:
        """Whether ``secret`` matches; False for a wrong secret and for an unreadable or foreign hash (never
        raises for those). Older argon2 variants and weaker parameters still verify (then :meth:`needs_rehash`)."""
        try:
            return self._argon2.verify(stored_hash, secret)
        except (VerificationError, InvalidHashError, UnicodeError, TypeError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the stored hash is weaker than this hasher's in any respect (not argon2id, an older argon2
        version, or fewer KiB, passes, lanes, salt or hash bytes), and for an unreadable hash; False for a hash
        as strong or stronger in every respect."""
        try:
            stored = extract_parameters(stored_hash)
        except (InvalidHashError, ValueError, TypeError, AttributeError):
            return True
        wanted = self._argon2
        return (
            stored.type is not Type.ID
            or stored.version < ARGON2_VERSION
            or stored.memory_cost < wanted.memory_cost
            or stored.time_cost < wanted.time_cost
            or stored.parallelism < wanted.parallelism
            or stored.salt_len < wanted.salt_len
            or stored.hash_len < wanted.hash_len
        )


if TYPE_CHECKING:
    _implements_the_port: type[PasswordHasher] = Argon2PasswordHasher
