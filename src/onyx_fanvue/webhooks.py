"""Webhook verification and parsing: check ``X-Fanvue-Signature`` over the raw body, then parse the payload.

Fanvue signs every delivery with ``X-Fanvue-Signature: t=<unix seconds>,v0=<hex>``, where ``v0`` is the hex
HMAC-SHA256 of ``"<t>." + raw body`` under the app's signing secret. Platform events are flat JSON objects with
no type field: the event type is the one the endpoint was subscribed to, so :func:`parse_event` takes it as an
argument. The newer checkout families use a Standard-Webhooks envelope ``{id, type, timestamp, data}``.

    verifier = WebhookVerifier(secret)
    event = verifier.verify_and_parse("tip.new", raw_body, request_headers)

See ``docs/sdk-webhooks.md``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeAlias

import pydantic
from pydantic import Field

from onyx_fanvue._types import Cents, FanvueModel, Timestamp
from onyx_fanvue.errors import FanvueError, WebhookVerificationError

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "CreatorLogout",
    "EnvelopeEvent",
    "MessageRead",
    "MessageReceived",
    "NewFollower",
    "NewSubscriber",
    "PurchaseReceived",
    "TipReceived",
    "UnknownEvent",
    "WebhookEvent",
    "WebhookMessage",
    "WebhookPayloadError",
    "WebhookSender",
    "WebhookVerifier",
    "parse_event",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Fanvue-Signature"
"""The header carrying ``t=<unix seconds>,v0=<hex>``."""

DEFAULT_TOLERANCE = timedelta(minutes=5)
"""How far the signed timestamp may be from now (either way): Fanvue recommends 300 s."""

# ASCII digits only: int() would also take "+5", "1_0" and non-ASCII digits. 20 digits bounds the work.
_TIMESTAMP = re.compile(r"[0-9]{1,20}")
# 128 hex digits is twice a SHA-256 digest: room for a future longer scheme, a bound on attacker input.
_HEX = re.compile(r"[0-9a-fA-F]{1,128}")


class WebhookPayloadError(FanvueError):
    """A webhook body is not a JSON object, or does not fit the documented shape of its event type.

    Raised only after parsing, never by signature checks. ``payload`` is the decoded JSON (``None`` when the
    body was not JSON). A redelivery would carry the same body, so retrying does not help.
    """

    def __init__(self, message: str, *, payload: Any = None) -> None:
        super().__init__(message)
        self.payload = payload


# ---------------------------------------------------------------- signatures


def _secret_bytes(secret: str | bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    if not key:
        # An empty key would make every forged signature computable: refuse it rather than "verify".
        raise ValueError("the webhook signing secret is empty")
    return key


def _signature(payload: bytes, key: bytes, timestamp: int) -> str:
    return hmac.new(key, f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()


def sign(payload: bytes, secret: str | bytes, timestamp: int) -> str:
    """Build the ``X-Fanvue-Signature`` value Fanvue would send for ``payload`` at ``timestamp`` (unix seconds).

    For tests and for the sandbox that sends webhooks.
    """
    if type(timestamp) is not int or timestamp < 0:  # bool is an int subclass: refuse True/False too
        raise ValueError("timestamp must be a non-negative int of unix seconds")
    return f"t={timestamp},v0={_signature(payload, _secret_bytes(secret), timestamp)}"


def _parse_header(header: str | None) -> tuple[int, list[str]]:
    """Split the header into its timestamp and v0 candidates. Messages never echo the header: it is untrusted."""
    if header is None or not header.strip():
        raise WebhookVerificationError(f"missing {SIGNATURE_HEADER} header")
    timestamps: list[str] = []
    candidates: list[str] = []
    for raw_part in header.split(","):
        part = raw_part.strip()
        if not part:
            continue  # tolerate "t=1,,v0=..." and a trailing comma
        key, sep, value = part.partition("=")
        if not sep:
            raise WebhookVerificationError(f"malformed {SIGNATURE_HEADER} header: a part is not key=value")
        key, value = key.strip().lower(), value.strip()
        if key == "t":
            timestamps.append(value)
        elif key == "v0":
            candidates.append(value)
        # Other keys (a future v1 scheme, metadata) are ignored on purpose.
    if len(timestamps) != 1:
        problem = "no timestamp (t=)" if not timestamps else "several timestamps (t=)"
        raise WebhookVerificationError(f"malformed {SIGNATURE_HEADER} header: {problem}")
    if not _TIMESTAMP.fullmatch(timestamps[0]):
        raise WebhookVerificationError(f"malformed {SIGNATURE_HEADER} header: the timestamp is not unix seconds")
    if not candidates:
        raise WebhookVerificationError(f"{SIGNATURE_HEADER} header has no v0 signature")
    if not all(_HEX.fullmatch(candidate) for candidate in candidates):
        raise WebhookVerificationError(f"{SIGNATURE_HEADER} header has a v0 signature that is not hex")
    return int(timestamps[0]), [candidate.lower() for candidate in candidates]


def verify_signature(
    payload: bytes,
    header: str | None,
    secret: str | bytes,
    *,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    now: datetime | None = None,
) -> int:
    """Check ``header`` (the ``X-Fanvue-Signature`` value) against the raw request body; return its timestamp.

    ``payload`` must be the body bytes exactly as received: re-serialised JSON will not match. Any one of
    several ``v0`` values may match. The signed timestamp must be within ``tolerance`` of ``now`` (default:
    the current time) in either direction; exactly ``tolerance`` away passes.

    Raises :class:`~onyx_fanvue.errors.WebhookVerificationError` (answer 401) for a missing or malformed header,
    a header without ``v0``, a non-hex signature, a signature that does not match, or a timestamp too old or too
    far ahead. The signature is checked before the time, so a "too old" error means a genuine but late (or
    replayed) delivery. ``ValueError`` for an empty secret, a negative tolerance or a naive ``now``.
    """
    key = _secret_bytes(secret)
    if tolerance < timedelta(0):
        raise ValueError("tolerance must not be negative")
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    timestamp, candidates = _parse_header(header)
    expected = _signature(payload, key, timestamp)
    # Compare against every candidate without stopping early, so timing says nothing about which one matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookVerificationError(f"{SIGNATURE_HEADER} does not match the body (wrong secret or altered body)")
    skew = now.timestamp() - timestamp
    if abs(skew) > tolerance.total_seconds():
        when = "too old" if skew > 0 else "in the future"
        raise WebhookVerificationError(
            f"{SIGNATURE_HEADER} timestamp is {when}: {abs(skew):.0f} s from now, "
            f"tolerance {tolerance.total_seconds():.0f} s (replay or clock skew)"
        )
    return timestamp


# ---------------------------------------------------------------- event models


class WebhookSender(FanvueModel):
    """The fan who caused the event."""

    uuid: str
    handle: str
    display_name: str
    avatar_url: str | None = None


class WebhookMessage(FanvueModel):
    """The message inside ``message.received``. ``price`` is set for a pay-to-view message."""

    uuid: str
    text: str | None = None
    has_media: bool = False
    media_uuids: list[str] = Field(default_factory=list)
    price: Cents | None = None
    created_at: Timestamp | None = None


class MessageReceived(FanvueModel):
    """``message.received`` (scope ``read:chat``): a fan sent the creator a message."""

    event_type: ClassVar[str] = "message.received"

    message: WebhookMessage
    message_uuid: str
    sender: WebhookSender
    recipient_uuid: str
    """The creator's uuid."""
    is_muted: bool | None = None
    timestamp: Timestamp


class MessageRead(FanvueModel):
    """``message.read`` (scope ``read:chat``). Fanvue does not document the payload: every field is in
    ``model_extra`` under its JSON name."""

    event_type: ClassVar[str] = "message.read"


class NewFollower(FanvueModel):
    """``follow.new`` (scope ``read:creator``): a fan followed the creator. The shape is inferred from its
    family, so every field is optional."""

    event_type: ClassVar[str] = "follow.new"

    sender: WebhookSender | None = None
    recipient_uuid: str | None = None
    timestamp: Timestamp | None = None


class NewSubscriber(FanvueModel):
    """``subscription.new`` (scope ``read:creator``): a fan subscribed; ``price`` is what they paid."""

    event_type: ClassVar[str] = "subscription.new"

    price: Cents
    recipient_uuid: str
    sender: WebhookSender
    timestamp: Timestamp


class PurchaseReceived(FanvueModel):
    """``purchase.new`` (scope ``read:creator``): a fan bought a post (``post_uuid``) or a message
    (``route_uuid``)."""

    event_type: ClassVar[str] = "purchase.new"

    post_uuid: str | None = None
    route_uuid: str | None = None
    price: Cents
    recipient_uuid: str
    sender: WebhookSender
    timestamp: Timestamp


class TipReceived(FanvueModel):
    """``tip.new`` (scope ``read:creator``): a fan tipped on a post or in a message. ``context`` is an open
    string (``"post"``, ``"message"``...)."""

    event_type: ClassVar[str] = "tip.new"

    context: str
    post_uuid: str | None = None
    message_uuid: str | None = None
    recipient_uuid: str
    sender_uuid: str
    price: Cents
    sender: WebhookSender
    timestamp: Timestamp


class CreatorLogout(FanvueModel):
    """``creator.logout`` (scope ``read:self``). Fanvue does not document the payload: every field is in
    ``model_extra`` under its JSON name."""

    event_type: ClassVar[str] = "creator.logout"


class EnvelopeEvent(FanvueModel):
    """A Standard-Webhooks envelope ``{id, type, timestamp, data}`` (checkout-link, payout and app-store
    events). ``id`` is stable across retries: use it to drop duplicates. ``data`` is kept as sent."""

    id: str | None = None
    type: str
    timestamp: Timestamp | None = None
    data: dict[str, Any]

    @property
    def event_type(self) -> str:
        """The envelope's ``type``, under the name every other event uses."""
        return self.type


class UnknownEvent(FanvueModel):
    """An event type this SDK does not know: ``data`` is the whole payload, untouched."""

    event_type: str
    data: dict[str, Any]


WebhookEvent: TypeAlias = (
    MessageReceived
    | MessageRead
    | NewFollower
    | NewSubscriber
    | PurchaseReceived
    | TipReceived
    | CreatorLogout
    | EnvelopeEvent
    | UnknownEvent
)
"""Whatever :func:`parse_event` returns. Every variant has ``event_type``."""

_PlatformEvent: TypeAlias = (
    MessageReceived | MessageRead | NewFollower | NewSubscriber | PurchaseReceived | TipReceived | CreatorLogout
)
_MODELS: dict[str, type[_PlatformEvent]] = {
    model.event_type: model
    for model in (
        MessageReceived,
        MessageRead,
        NewFollower,
        NewSubscriber,
        PurchaseReceived,
        TipReceived,
        CreatorLogout,
    )
}


def _describe(error: pydantic.ValidationError) -> str:
    # Locations and reasons only: the input values are a fan's data and do not belong in logs.
    parts = [
        f"{'.'.join(str(loc) for loc in item['loc']) or '(root)'}: {item['msg']}"
        for item in error.errors(include_url=False, include_input=False, include_context=False)
    ]
    return "; ".join(parts)


def _decode(payload: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(payload, Mapping):
        return dict(payload)
    try:
        decoded = json.loads(payload)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise WebhookPayloadError("webhook body is not valid JSON") from error
    if not isinstance(decoded, dict):
        raise WebhookPayloadError("webhook body is not a JSON object", payload=decoded)
    return decoded


def parse_event(event_type: str, payload: bytes | str | Mapping[str, Any]) -> WebhookEvent:
    """Parse a webhook body (raw bytes, text or an already-decoded mapping) into its event model.

    ``event_type`` is the type the endpoint was subscribed to (``message.received``, ``message.read``,
    ``follow.new``, ``subscription.new``, ``purchase.new``, ``tip.new``, ``creator.logout``): platform payloads
    do not name it. A body with a string ``type`` and an object ``data`` is a Standard-Webhooks envelope and
    becomes :class:`EnvelopeEvent` whatever ``event_type`` says. Unknown types become :class:`UnknownEvent`;
    unknown fields are kept in ``model_extra``.

    Verify the signature first. Raises :class:`WebhookPayloadError` if the body is not a JSON object or a known
    event lacks a documented field (or has one of the wrong type, such as a fractional ``price``).
    """
    data = _decode(payload)
    name = event_type.strip().lower()
    try:
        if isinstance(data.get("type"), str) and isinstance(data.get("data"), dict):
            name = data["type"]
            return EnvelopeEvent.model_validate(data)
        model = _MODELS.get(name)
        if model is None:
            return UnknownEvent(event_type=event_type, data=data)
        return model.model_validate(data)
    except pydantic.ValidationError as error:
        raise WebhookPayloadError(
            f"{name} webhook payload does not fit the documented shape: {_describe(error)}", payload=data
        ) from error


# ---------------------------------------------------------------- convenience


class WebhookVerifier:
    """Holds the signing secret and tolerance for one app: verify a request, then parse it.

    ``headers`` may be any mapping (a plain dict, Starlette/Litestar/httpx headers); the signature header is
    looked up case-insensitively.
    """

    __slots__ = ("_secret", "tolerance")

    def __init__(self, secret: str | bytes, tolerance: timedelta = DEFAULT_TOLERANCE) -> None:
        self._secret = _secret_bytes(secret)
        if tolerance < timedelta(0):
            raise ValueError("tolerance must not be negative")
        self.tolerance = tolerance

    def __repr__(self) -> str:
        # Never show the secret, not even in a debugger or a traceback's locals.
        return f"WebhookVerifier(secret=<hidden>, tolerance={self.tolerance!r})"

    @staticmethod
    def _header(headers: Mapping[str, str]) -> str | None:
        wanted = SIGNATURE_HEADER.lower()
        for name, value in headers.items():
            if name.lower() == wanted:
                return value
        return None

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: datetime | None = None) -> int:
        """Verify the request's signature over ``body``; return the signed timestamp. See
        :func:`verify_signature`."""
        return verify_signature(body, self._header(headers), self._secret, tolerance=self.tolerance, now=now)

    def verify_and_parse(
        self, event_type: str, body: bytes, headers: Mapping[str, str], *, now: datetime | None = None
    ) -> WebhookEvent:
        """Verify the request, then parse its body as ``event_type``. Raises
        :class:`~onyx_fanvue.errors.WebhookVerificationError` (answer 401) before anything is parsed, then
        :class:`WebhookPayloadError` for a body that is not the documented shape."""
        self.verify(body, headers, now=now)
        return parse_event(event_type, body)
