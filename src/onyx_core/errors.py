"""Every error the core raises derives from :class:`OnyxError`, so callers can catch the family."""

from __future__ import annotations


class OnyxError(Exception):
    """Base class of the core's errors."""


class DomainValueError(OnyxError, ValueError):
    """A value given to the core breaks one of its rules (naive datetime, float money, bad currency...)."""


class NaiveDatetimeError(DomainValueError):
    """A datetime without a time zone was given where an instant is required."""


class CurrencyMismatchError(DomainValueError):
    """Money of two currencies was combined; convert explicitly first."""


class ConcurrentUpdateError(OnyxError):
    """A record changed under us (optimistic check failed): re-read and decide again."""


class NotFoundError(OnyxError, LookupError):
    """The agency, creator or connection named does not exist."""


class InvalidCiphertextError(OnyxError):
    """A :class:`~onyx_core.ports.Cipher` was given bytes it did not make with its keys, or that were altered."""
