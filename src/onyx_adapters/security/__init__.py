"""Security algorithms behind the accounts ports: argon2id password hashing, TOTP codes, the enrolment QR code."""

from __future__ import annotations

from onyx_adapters.security.passwords import Argon2PasswordHasher, WeakHashParametersError
from onyx_adapters.security.totp import PyotpTotp, qr_svg

__all__ = ["Argon2PasswordHasher", "PyotpTotp", "WeakHashParametersError", "qr_svg"]
