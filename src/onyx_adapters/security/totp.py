"""TOTP second factor: RFC 6238 codes (pyotp) behind the core's :class:`~onyx_core.accounts.ports.TotpAlgorithm`
port, and the enrolment QR code as an inline SVG (segno).

Codes are 6 digits over 30-second steps with HMAC-SHA-1, what every authenticator app expects. Secrets are 160
random bits (32 base32 characters, RFC 4226's recommended length). A code is compared in constant time with the
code of every step of the window, always all of them, so the answer's timing says nothing of which step matched.
"""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

import pyotp
import segno

from onyx_core.accounts.ports import TotpAlgorithm
from onyx_core.timeutil import require_utc

__all__ = ["CODE_DIGITS", "SECRET_BITS", "STEP_SECONDS", "PyotpTotp", "qr_svg"]

STEP_SECONDS: Final = 30
CODE_DIGITS: Final = 6
SECRET_BITS: Final = 160
_SECRET_CHARS: Final = SECRET_BITS // 5  # base32: 5 bits a character
_CODE = re.compile(r"[0-9]{6}")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def time_step(at: datetime) -> int:
    """``floor(unix_time / 30)`` of an aware instant, in exact integer arithmetic."""
    return (require_utc(at, "TOTP instant") - _EPOCH) // timedelta(seconds=STEP_SECONDS)


class PyotpTotp:
    """Implements :class:`~onyx_core.accounts.ports.TotpAlgorithm` with pyotp."""

    def new_secret(self) -> str:
        """32 base32 characters from the operating system's CSPRNG: 160 bits."""
        return pyotp.random_base32(length=_SECRET_CHARS)

    def code_at(self, secret: str, step: int) -> str:
        """The code of one time step (for tests and tools; the login path uses :meth:`matching_step`)."""
        return pyotp.TOTP(secret, digits=CODE_DIGITS, interval=STEP_SECONDS).generate_otp(step)

    def matching_step(self, secret: str, code: str, at: datetime, window: int) -> int | None:
        """The step within ``window`` steps of ``at`` whose code is ``code``, else None.

        Only exactly six ASCII digits can match (no spaces, no other digit scripts: the web layer trims what the
        person typed). When two steps of the window share the code, the one nearest ``at`` wins, then the
        earlier. A malformed ``secret`` raises :class:`ValueError` (stored secrets are Onyx's own)."""
        if window < 0:
            raise ValueError("the TOTP window is a number of steps, >= 0")
        totp = pyotp.TOTP(secret, digits=CODE_DIGITS, interval=STEP_SECONDS)
        now = time_step(at)
        well_formed = _CODE.fullmatch(code) is not None
        given = code.encode() if well_formed else b"-" * CODE_DIGITS
        found: int | None = None
        for offset in sorted(range(-window, window + 1), key=abs):
            step = now + offset
            if step < 0:
                continue
            equal = hmac.compare_digest(totp.generate_otp(step).encode(), given)
            if equal and found is None:
                found = step
        return found

    def provisioning_uri(self, secret: str, account: str, issuer: str) -> str:
        """The ``otpauth://totp/…`` URI an authenticator app reads from the QR code."""
        return pyotp.TOTP(secret, digits=CODE_DIGITS, interval=STEP_SECONDS).provisioning_uri(
            name=account, issuer_name=issuer
        )


def qr_svg(uri: str, *, title: str = "QR code to scan with your authenticator app", scale: int = 4) -> str:
    """The QR code of ``uri`` as an ``<svg>`` element to put inline in an HTML page.

    Self-contained: one ``<path>`` of presentation attributes on a white background, no external resource, no
    script, no ``style`` attribute (so a Content-Security-Policy without ``'unsafe-inline'`` styles draws it),
    and no XML declaration or namespace (HTML5 parsers need neither). ``title`` is the accessible name. Error
    correction is at least M (segno raises it further when the code does not grow).
    """
    code = segno.make(uri, error="m", micro=False, boost_error=True)
    svg: str = code.svg_inline(scale=scale, title=title, dark="#000", light="#fff", svgclass="onyx-qr")
    return svg


if TYPE_CHECKING:
    _implements_the_port: type[TotpAlgorithm] = PyotpTotp
