"""Chat shapes: chat rows, messages, unread counts and mass messages (api doc §2.13-§2.16)."""

from __future__ import annotations

from typing import Final

from pydantic import Field

from onyx_fanvue._types import Cents, FanvueModel, Timestamp
from onyx_fanvue.models.common import FanUser

__all__ = [
    "ChatRow",
    "LastMessage",
    "MassMessageRow",
    "MassMessageStatus",
    "MediaType",
    "MessageParty",
    "MessageRow",
    "MessageType",
    "Price",
    "Pricing",
    "UnreadCounts",
    "UnreadNotifications",
]


class MessageType:
    """Message ``type`` values seen across API snapshots; the set grows, so ``type`` is a plain ``str``.

    A tip is ``TIP``; a pay-per-view message is any message with non-null ``pricing``.
    """

    SINGLE_RECIPIENT: Final = "SINGLE_RECIPIENT"
    CHAT_TEXT_REPLY: Final = "CHAT_TEXT_REPLY"
    CHAT_TEXT_GENERATION: Final = "CHAT_TEXT_GENERATION"
    CHAT_TEXT_REWRITE: Final = "CHAT_TEXT_REWRITE"
    TIP: Final = "TIP"
    VOICE_CALL: Final = "VOICE_CALL"
    BROADCAST: Final = "BROADCAST"
    GHOST_PROMOTION: Final = "GHOST_PROMOTION"
    MARKETING_KYC: Final = "MARKETING_KYC"
    LOCKED_MESSAGE_UNLOCKED: Final = "LOCKED_MESSAGE_UNLOCKED"
    AUTOMATED_FIRST_MESSAGE_REPLY: Final = "AUTOMATED_FIRST_MESSAGE_REPLY"
    AUTOMATED_NEW_SUBSCRIBER: Final = "AUTOMATED_NEW_SUBSCRIBER"
    AUTOMATED_NEW_FOLLOWER: Final = "AUTOMATED_NEW_FOLLOWER"
    AUTOMATED_NEW_PURCHASE: Final = "AUTOMATED_NEW_PURCHASE"
    AUTOMATED_RE_SUBSCRIBED: Final = "AUTOMATED_RE_SUBSCRIBED"
    AUTOMATED_RENEWED: Final = "AUTOMATED_RENEWED"
    AUTOMATED_CANCELED: Final = "AUTOMATED_CANCELED"
    AUTOMATED_CHAT_MESSAGE_REPLY: Final = "AUTOMATED_CHAT_MESSAGE_REPLY"


class MediaType:
    """Documented values of ``mediaType`` on messages."""

    IMAGE: Final = "image"
    VIDEO: Final = "video"
    AUDIO: Final = "audio"
    DOCUMENT: Final = "document"


class MassMessageStatus:
    """Documented values of a mass message's ``status``."""

    SENT: Final = "SENT"
    UNSENT: Final = "UNSENT"
    SENDING: Final = "SENDING"
    FAILED: Final = "FAILED"
    MODERATED: Final = "MODERATED"
    SCHEDULED: Final = "SCHEDULED"


class LastMessage(FanvueModel):
    """The latest message of a chat, as shown in the chat list."""

    uuid: str
    text: str | None = None
    type: str
    sent_at: Timestamp | None = None
    has_media: bool | None = None
    media_type: str | None = None
    sender_uuid: str
    sent_by_user_id: str | None = None


class ChatRow(FanvueModel):
    """A chat with one fan. ``creator_uuid`` is set only on ``/agencies/chats`` rows (mute is per creator)."""

    created_at: Timestamp | None = None
    last_message_at: Timestamp | None = None
    is_read: bool
    is_muted: bool
    unread_messages_count: int
    user: FanUser
    last_message: LastMessage | None = None
    creator_uuid: str | None = None


class MessageParty(FanvueModel):
    """The sender (``uuid`` and ``handle`` always given) or recipient (both optional) of a message."""

    uuid: str | None = None
    handle: str | None = None


class Price(FanvueModel):
    """A price in cents."""

    price: Cents


class Pricing(FanvueModel):
    """A message's ``pricing``, keyed by currency: ``{"USD": {"price": 500}}``. Other currencies, if Fanvue ever
    sends them, stay in ``model_extra``."""

    usd: Price | None = Field(default=None, alias="USD")


class MessageRow(FanvueModel):
    """One message of a conversation. ``pricing`` is set on pay-per-view messages; ``sent_by_user_id`` names the
    team member who sent it on the creator's behalf."""

    uuid: str
    text: str | None = None
    sent_at: Timestamp | None = None
    sender: MessageParty
    recipient: MessageParty
    has_media: bool | None = None
    media_type: str | None = None
    media_uuids: list[str]
    type: str
    pricing: Pricing | None = None
    purchased_at: Timestamp | None = None
    is_read: bool
    sent_by_user_id: str | None = None


class UnreadNotifications(FanvueModel):
    """Unread notification counters by kind; a counter Fanvue leaves out is ``None``, not 0."""

    new_follower: int | None = None
    new_post_comment: int | None = None
    new_post_like: int | None = None
    new_purchase: int | None = None
    new_subscriber: int | None = None
    new_tip: int | None = None
    new_promotion: int | None = None


class UnreadCounts(FanvueModel):
    """``GET /chats/unread``."""

    unread_chats_count: int
    unread_messages_count: int
    unread_notifications: UnreadNotifications


class MassMessageRow(FanvueModel):
    """A mass message with its delivery and sales figures (``status``: see ``MassMessageStatus``)."""

    uuid: str
    text: str | None = None
    status: str
    price: Cents | None = None
    created_at: Timestamp | None = None
    published_at: Timestamp | None = None
    scheduled_at: Timestamp | None = None
    recipient_count: int
    view_count: int
    purchase_count: int
    total_revenue: Cents
    media_uuids: list[str]
