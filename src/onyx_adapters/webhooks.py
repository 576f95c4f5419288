"""Fanvue webhooks into the ledger: verify a delivery with the agency's secret, then store its payment.

``receive`` is the whole receiver, framework-free: the web route hands it the raw body bytes and the headers.
The order matters: the event type is checked (a type Onyx does not handle is refused before any work), the
signature is verified over the raw bytes with the agency's secret (an unknown agency, an agency without a secret
and a bad signature are one and the same refusal), and only then is the body parsed and anything written.

What each event does (``docs/webhooks.md``):

- ``tip.new`` → a ``tip`` earning; ``purchase.new`` → a ``post`` earning (``postUuid``) or a ``message`` one
  (``routeUuid``); ``subscription.new`` → a ``subscription`` earning. Each is a *provisional* ledger entry
  (:mod:`onyx_core.provisional`): gross is the price the fan paid, net 0 until polling reads Fanvue's row of the
  same payment, which replaces it (one payment, one row).
- ``message.received``, ``message.read``, ``follow.new``, ``creator.logout``: no money; acknowledged, nothing
  stored. (Renewals, refunds and chargebacks have no webhook: polling brings them.)
- A payment for a creator who is not one of the agency's: acknowledged (2xx: a retry would not change it) and
  logged, nothing stored.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.sql.repositories.webhooks import SqlWebhookPayments, SqlWebhookSecrets, StoredSecret, WebhookOutcome
from onyx_adapters.sql.uow import SqlUnitOfWork
from onyx_core.errors import DomainValueError
from onyx_core.ids import AgencyId, CreatorId, FanId
from onyx_core.ledger import EntryKind, LedgerEntry, Source
from onyx_core.money import Money
from onyx_core.ports import Cipher
from onyx_core.provisional import provisional_key
from onyx_fanvue.errors import WebhookVerificationError
from onyx_fanvue.redaction import install_log_filter
from onyx_fanvue.webhooks import (
    CreatorLogout,
    MessageRead,
    MessageReceived,
    NewFollower,
    NewSubscriber,
    PurchaseReceived,
    TipReceived,
    WebhookEvent,
    WebhookPayloadError,
    WebhookVerifier,
)

__all__ = [
    "EVENT_TYPES",
    "MONEY_EVENTS",
    "Delivery",
    "DeliveryResult",
    "SecretStatus",
    "UnknownEventTypeError",
    "WebhookRefusedError",
    "generate_secret",
    "mask",
    "payment_of",
    "receive",
    "secret_status",
    "set_secret",
]

logger = logging.getLogger("onyx_adapters.webhooks")
install_log_filter("onyx_adapters.webhooks")

MONEY_EVENTS = frozenset({"tip.new", "purchase.new", "subscription.new"})
"""The events that carry a payment: each becomes a ledger entry."""
EVENT_TYPES = MONEY_EVENTS | {"message.received", "message.read", "follow.new", "creator.logout"}
"""The platform events Onyx accepts (one Fanvue endpoint each)."""

SECRET_BYTES = 32
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 256


class WebhookRefusedError(Exception):
    """Not a genuine delivery for this agency (unknown agency, no secret set, bad/missing/stale signature): 401.
    The message says which check failed, for the log; the client is told nothing more than "refused"."""


class UnknownEventTypeError(Exception):
    """An event type Onyx does not handle: 404."""


class DeliveryResult(StrEnum):
    RECORDED = WebhookOutcome.RECORDED.value
    DUPLICATE = WebhookOutcome.DUPLICATE.value
    ALREADY_POLLED = WebhookOutcome.ALREADY_POLLED.value
    NO_PAYMENT = "no_payment"
    """An event without money (or a price of 0): nothing stored."""
    FOREIGN_CREATOR = "foreign_creator"
    """The payment is for a creator who is not the agency's: ignored and logged."""


@dataclass(frozen=True, slots=True)
class Delivery:
    result: DeliveryResult
    event_type: str


def generate_secret() -> str:
    """A new signing secret (256 random bits), for an agency that signs its own test deliveries."""
    return "whsec_" + secrets.token_urlsafe(SECRET_BYTES)


def payment_of(event: WebhookEvent, event_type: str) -> LedgerEntry | None:
    """The provisional ledger entry of a payment event (``None`` for an event without money, or a price of 0).
    Raises :class:`WebhookPayloadError` for a payment Onyx cannot place (a purchase of neither a post nor a
    message, a negative price)."""
    if isinstance(event, TipReceived):
        source, reference = Source.TIP, event.post_uuid or event.message_uuid
    elif isinstance(event, PurchaseReceived):
        if event.post_uuid:
            source, reference = Source.POST, event.post_uuid
        elif event.route_uuid:
            source, reference = Source.MESSAGE, event.route_uuid
        else:
            raise WebhookPayloadError("purchase.new names neither a post (postUuid) nor a message (routeUuid)")
    elif isinstance(event, NewSubscriber):
        source, reference = Source.SUBSCRIPTION, None
    elif isinstance(event, MessageReceived | MessageRead | NewFollower | CreatorLogout):
        return None
    else:  # an envelope or unknown event under a known type's endpoint: not a shape Onyx places in the ledger
        raise WebhookPayloadError(f"{event_type} delivery is not the platform event's shape")
    if event.price.cents == 0:
        return None
    creator_id, fan = CreatorId(event.recipient_uuid), event.sender.uuid
    gross = Money(event.price.cents, event.price.currency)
    key = provisional_key(
        event_type=event_type, creator_id=creator_id, occurred_at=event.timestamp, source=source,
        gross_cents=gross.cents, currency=gross.currency, fan_id=fan, reference=reference,
    )  # fmt: skip
    try:
        # net 0: Fanvue's cut is not in the delivery; polling's row brings the real net and replaces this one
        return LedgerEntry(
            creator_id, key, event.timestamp, source, gross, Money.zero(gross.currency),
            kind=EntryKind.EARNING, fan_id=FanId(fan), reference=reference,
        )  # fmt: skip
    except DomainValueError as error:
        raise WebhookPayloadError(f"{event_type} payment cannot be stored: {error}") from error


async def receive(
    engine: AsyncEngine,
    cipher: Cipher,
    agency_id: AgencyId,
    event_type: str,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime,
) -> Delivery:
    """Verify and store one delivery. Raises :class:`UnknownEventTypeError` (404), :class:`WebhookRefusedError`
    (401, nothing read from the body, nothing written) or :class:`WebhookPayloadError` (400, nothing written)."""
    if event_type not in EVENT_TYPES:
        raise UnknownEventTypeError(event_type)
    async with SqlUnitOfWork(engine, cipher) as uow:
        stored = await SqlWebhookSecrets(uow, cipher).get(agency_id)
    if stored is None:
        raise WebhookRefusedError("no webhook secret for this agency (or no such agency)")
    if stored.secret is None:
        logger.error(
            "the webhook secret of agency %s does not decrypt with ONYX_CIPHER_KEYS: set it again "
            "(PUT /api/webhooks/secret) or restore the key it was stored with",
            agency_id,
        )
        raise WebhookRefusedError("the agency's webhook secret cannot be decrypted")
    try:
        event = WebhookVerifier(stored.secret).verify_and_parse(event_type, body, headers, now=now)
    except WebhookVerificationError as error:
        raise WebhookRefusedError(str(error)) from None
    entry = payment_of(event, event_type)
    if entry is None:
        return Delivery(DeliveryResult.NO_PAYMENT, event_type)
    async with SqlUnitOfWork(engine, cipher) as uow:
        creator = await uow.creators.get(entry.creator_id)
        if creator is None or creator.agency_id != agency_id:
            # a creator Fanvue's app serves but this agency does not manage (the secret is per app): not ours
            logger.warning(
                "webhook %s for agency %s ignored: its recipient %s is not a creator of the agency",
                event_type, agency_id, entry.creator_id,
            )  # fmt: skip
            return Delivery(DeliveryResult.FOREIGN_CREATOR, event_type)
        outcome = await SqlWebhookPayments(uow).record(entry, event_type, now)
        await uow.commit()
    return Delivery(DeliveryResult(outcome.value), event_type)


@dataclass(frozen=True, slots=True)
class SecretStatus:
    """What may be shown of an agency's secret after it was set: whether there is one, its last characters."""

    configured: bool
    masked: str | None
    set_at: datetime | None
    readable: bool = True
    """False when the stored secret does not decrypt with the configured keys: set it again."""


def mask(secret: str) -> str:
    """Enough to tell two secrets apart, never enough to sign with: the last 4 characters."""
    return "…" + secret[-4:]


def _status(stored: StoredSecret | None) -> SecretStatus:
    if stored is None:
        return SecretStatus(configured=False, masked=None, set_at=None)
    if stored.secret is None:
        return SecretStatus(configured=True, masked=None, set_at=stored.set_at, readable=False)
    return SecretStatus(configured=True, masked=mask(stored.secret), set_at=stored.set_at)


async def secret_status(engine: AsyncEngine, cipher: Cipher, agency_id: AgencyId) -> SecretStatus:
    async with SqlUnitOfWork(engine, cipher) as uow:
        return _status(await SqlWebhookSecrets(uow, cipher).get(agency_id))


async def set_secret(engine: AsyncEngine, cipher: Cipher, agency_id: AgencyId, secret: str, now: datetime) -> None:
    """Store (or replace) the agency's signing secret, encrypted. The old one stops verifying at once."""
    async with SqlUnitOfWork(engine, cipher) as uow:
        await SqlWebhookSecrets(uow, cipher).set(agency_id, secret, now)
        await uow.commit()
