"""Recovery codes: made from the system's random source, shown once, stored as hashes (A4)."""

from __future__ import annotations

import secrets

from onyx_core.accounts.policy import AccountsPolicy

__all__ = ["RECOVERY_ALPHABET", "new_recovery_codes", "normalize_recovery_code"]

RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
"""Base32 (RFC 4648) in lower case: 5 random bits per character."""


def new_recovery_codes(policy: AccountsPolicy) -> list[str]:
    """``recovery_code_count`` fresh codes, each ``recovery_code_length`` random base32 characters shown in groups
    of four (``xxxx-xxxx-xxxx``: 60 bits)."""
    codes: list[str] = []
    for _ in range(policy.recovery_code_count):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(policy.recovery_code_length))
        codes.append("-".join(raw[i : i + 4] for i in range(0, len(raw), 4)))
    return codes


def normalize_recovery_code(code: str) -> str:
    """The form a code is hashed in: lower case, without the dashes and spaces people type."""
    return "".join(c for c in code.lower() if c not in "- \t\r\n")
