"""Fanvue's webhooks (``docs/webhooks.md``).

- ``POST /webhooks/fanvue/{agency_id}/{event_type}`` (public: Fanvue's signature is the credential): the raw body
  is verified with the agency's secret before it is parsed (:func:`onyx_adapters.webhooks.receive`); an unknown
  agency, one without a secret, and a missing, wrong or stale ``X-Fanvue-Signature`` all answer the same 401 and
  change nothing. An event type Onyx does not handle is 404; a genuine body of the wrong shape 400. A payment
  becomes a provisional ledger entry that the next poll's row of the same payment replaces.
- ``GET /api/webhooks/secret`` / ``PUT /api/webhooks/secret`` (members who may manage connections): whether a
  secret is set (masked), and set one: the secret from Fanvue's developer area, or (no body) a generated one,
  shown once in that answer only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, post, put
from litestar.params import Body, PathParameter
from msgspec import Meta

from onyx_adapters.webhooks import (
    MAX_SECRET_LENGTH,
    MIN_SECRET_LENGTH,
    DeliveryResult,
    SecretStatus,
    UnknownEventTypeError,
    WebhookRefusedError,
    generate_secret,
    mask,
    receive,
    secret_status,
    set_secret,
)
from onyx_core.accounts import Permission, record_audit, require
from onyx_core.accounts.model import AuditAction
from onyx_core.ids import AgencyId
from onyx_fanvue.redaction import install_log_filter
from onyx_fanvue.webhooks import WebhookPayloadError
from onyx_web.accounts.authentication import PUBLIC
from onyx_web.accounts.caller import client_ip, principal_of
from onyx_web.accounts.routes import Accounts
from onyx_web.errors import Problem, problem_spec
from onyx_web.runtime import Web

__all__ = ["RECEIVER_PATH", "SecretBody", "SecretView", "WebhookAck", "WebhookSecretController", "receive_webhook"]

RECEIVER_PATH = "/webhooks/fanvue/{agency_id}/{event_type}"
"""Where Fanvue's developer area points each event's endpoint (on the web's public origin)."""

logger = logging.getLogger("onyx_web.webhooks")
install_log_filter("onyx_web.webhooks")

_REFUSED = "The delivery is not signed with this agency's webhook secret (or is too old)."


@dataclass(frozen=True, slots=True)
class WebhookAck:
    result: Literal["recorded", "duplicate", "already_polled", "no_payment", "foreign_creator"]
    """``recorded``: a provisional ledger entry; ``duplicate``: delivered before, nothing changed;
    ``already_polled``: polling had stored the payment; ``no_payment``: an event without money;
    ``foreign_creator``: not a creator of this agency, ignored (and logged)."""
    event_type: str


@post(
    "/webhooks/fanvue/{agency_id:str}/{event_type:str}",
    opt={PUBLIC: True},
    status_code=200,
    tags=["webhooks"],
    summary="Receive a Fanvue webhook (signed with the agency's secret)",
    responses={
        400: problem_spec("Genuine, but the body is not the documented shape of the event type"),
        401: problem_spec("Not signed with this agency's secret, too old, or no such agency: nothing changed"),
        404: problem_spec("An event type Onyx does not handle"),
    },
)
async def receive_webhook(
    request: Request[Any, Any, Any],
    agency_id: Annotated[str, PathParameter(max_length=64)],
    event_type: Annotated[str, PathParameter(max_length=64)],
    web: Web,
    accounts: Accounts,
) -> WebhookAck:
    """One delivery from Fanvue: the body as Fanvue sent it, with its ``X-Fanvue-Signature`` header."""
    body = await request.body()  # the raw bytes: the signature covers them exactly, so nothing parses them first
    try:
        delivery = await receive(
            web.engine, web.cipher, AgencyId(agency_id), event_type, body, request.headers, accounts.clock.now()
        )
    except UnknownEventTypeError:
        raise Problem(404, "Onyx does not handle this webhook event type.") from None
    except WebhookRefusedError as refused:
        # which check failed is for the operator; the message never holds the secret or the header
        logger.info("webhook %s refused: %s", event_type, refused)
        raise Problem(401, _REFUSED) from None
    except WebhookPayloadError as bad:
        logger.warning("webhook %s for agency %s has an unusable body: %s", event_type, agency_id, bad)
        raise Problem(400, f"The {event_type} delivery is not the documented shape: {bad}") from None
    return WebhookAck(result=_RESULTS[delivery.result], event_type=delivery.event_type)


_RESULTS: dict[DeliveryResult, Any] = {result: result.value for result in DeliveryResult}


SecretField = Annotated[str, Meta(max_length=MAX_SECRET_LENGTH * 4)]


@dataclass(frozen=True, slots=True)
class SecretBody:
    secret: SecretField | None = None
    """The signing secret from Fanvue's developer area ("View Signing Secret"); leave it out to have Onyx make
    one (for deliveries you sign yourself)."""


@dataclass(frozen=True, slots=True)
class SecretView:
    configured: bool
    masked: str | None
    """The secret's last 4 characters: enough to tell which one is set, never to sign with."""
    set_at: datetime | None
    readable: bool
    """False when the stored secret no longer decrypts with the server's cipher keys: deliveries are refused
    (401) until it is set again."""
    receiver_path: str
    """Point each Fanvue event's endpoint at this path (``{event_type}``: ``tip.new``, ``purchase.new`` ...)."""
    secret: str | None = None
    """Only in the answer that generated it: shown once, never again."""


def _view(status: SecretStatus, agency_id: str, secret: str | None = None) -> SecretView:
    return SecretView(
        configured=status.configured,
        masked=status.masked,
        set_at=status.set_at,
        readable=status.readable,
        receiver_path=RECEIVER_PATH.replace("{agency_id}", agency_id),
        secret=secret,
    )


def _checked(secret: str) -> str:
    """A given secret as stored: surrounding blanks dropped; a rule broken is 422, with nothing stored."""
    secret = secret.strip()
    if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH:
        raise Problem(422, f"The secret must be {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters long.")
    if any(not character.isprintable() or character.isspace() for character in secret):
        raise Problem(422, "The secret must not contain spaces or control characters.")
    return secret


_ERRORS = {
    401: problem_spec("Not logged in"),
    403: problem_spec("The role cannot manage connections, or the CSRF token is missing or wrong"),
}


class WebhookSecretController(Controller):
    path = "/api/webhooks/secret"
    tags = ["webhooks"]  # noqa: RUF012 (Litestar's own attribute)

    @get(summary="Whether the agency's webhook secret is set (masked)", responses=_ERRORS)
    async def show_secret(self, request: Request[Any, Any, Any], web: Web) -> SecretView:
        """The agency's webhook secret, masked, and the receiver path to give Fanvue."""
        principal = principal_of(request)
        require(principal, Permission.MANAGE_CONNECTIONS)
        agency_id = principal.member.agency_id
        return _view(await secret_status(web.engine, web.cipher, agency_id), agency_id)

    @put(
        summary="Set or rotate the agency's webhook secret",
        responses={**_ERRORS, 422: problem_spec("The secret is too short, too long or has spaces; nothing stored")},
    )
    async def set_secret(
        self,
        request: Request[Any, Any, Any],
        accounts: Accounts,
        web: Web,
        data: Annotated[SecretBody | None, Body()] = None,
    ) -> SecretView:
        """Store the secret from Fanvue's developer area, or (no ``secret``) a new one shown in this answer only.
        The previous secret stops verifying at once."""
        principal = principal_of(request)
        require(principal, Permission.MANAGE_CONNECTIONS)
        given = None if data is None else data.secret
        secret = generate_secret() if given is None else _checked(given)
        agency_id = principal.member.agency_id
        await set_secret(web.engine, web.cipher, agency_id, secret, accounts.clock.now())
        await record_audit(
            accounts, principal, AuditAction.WEBHOOK_SECRET_SET,
            details={"how": "generated" if given is None else "given", "masked": mask(secret)},
            ip=client_ip(request),
        )  # fmt: skip
        status = await secret_status(web.engine, web.cipher, agency_id)
        return _view(status, agency_id, secret if given is None else None)
