"""Fanvue's webhooks: the public receiver (authenticated by the signature) and the agency's signing secret."""

from collections.abc import Sequence

from litestar.types import ControllerRouterHandler

from onyx_web.webhooks.routes import WebhookSecretController, receive_webhook

route_handlers: Sequence[ControllerRouterHandler] = [WebhookSecretController, receive_webhook]

__all__ = ["route_handlers"]
