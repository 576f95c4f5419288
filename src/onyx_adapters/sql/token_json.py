"""The one JSON format of a token in ``connections.tokens`` (encrypted before it is stored).

The core's connection repository (a :class:`~onyx_core.tokens.TokenSet`) and the SDK's token store (an
:class:`~onyx_fanvue.oauth.OAuthToken`) read and write the same row, so both go through this module.

Token values are :class:`~onyx_fanvue.redaction.Secret` here too: :func:`load` validates the decrypted JSON
straight into them (hand it the plaintext as a :class:`~pydantic.SecretBytes`, and no frame on the way holds it in
clear), and :func:`dump` unwraps them only inside the expression that encodes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainValidator, SecretBytes, SecretStr
from pydantic import ValidationError as _PydanticError

from onyx_fanvue.redaction import Secret, as_secret

__all__ = ["FORMAT", "StoredToken", "dump", "load"]

FORMAT = 1


@dataclass(frozen=True, slots=True)
class StoredToken:
    """A stored token; ``repr`` shows ``Secret('**********')`` for each token value."""

    access_token: Secret
    refresh_token: Secret | None
    expires_at: datetime
    scopes: frozenset[str]
    token_type: str
    id_token: Secret | None = None


def dump(token: StoredToken) -> bytes:
    """Canonical JSON bytes (sorted keys), so equal tokens encrypt from equal plaintexts."""
    optional = {} if token.id_token is None else {"id_token": token.id_token.get_secret_value()}
    return json.dumps(
        {
            "v": FORMAT,
            "access_token": token.access_token.get_secret_value(),
            "refresh_token": None if token.refresh_token is None else token.refresh_token.get_secret_value(),
            "token_type": token.token_type,
            "expires_at": token.expires_at.isoformat(),
            "scopes": sorted(token.scopes),
            **optional,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def _secret(value: Any) -> Secret:
    if not isinstance(value, str | SecretStr):
        raise ValueError("not a string")  # never echo the content: it is a secret
    return as_secret(value)


def _optional_secret(value: Any) -> Secret | None:
    return None if value is None else _secret(value)


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("not an ISO 8601 string")
    return datetime.fromisoformat(value)


def _scopes(value: Any) -> frozenset[str]:
    if not value:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(scope, str) for scope in value):
        raise ValueError("not a list of strings")
    return frozenset(value)


def _token_type(value: Any) -> str:
    if not value:
        return "bearer"
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


class _Stored(BaseModel):
    """What :func:`dump` writes (``v`` and ``id_token`` may be absent: rows written before they existed)."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True, extra="ignore")

    access_token: Annotated[Secret, PlainValidator(_secret)]
    refresh_token: Annotated[Secret | None, PlainValidator(_optional_secret)] = None
    expires_at: Annotated[datetime, PlainValidator(_instant)]
    scopes: Annotated[frozenset[str], PlainValidator(_scopes)] = frozenset()
    token_type: Annotated[str, PlainValidator(_token_type)] = "bearer"  # noqa: S105 - a token type
    id_token: Annotated[Secret | None, PlainValidator(_optional_secret)] = None


def load(data: bytes | SecretBytes) -> StoredToken:
    """The inverse of :func:`dump`; also reads rows written before ``v`` existed. Raises ``ValueError`` (naming
    nothing of the content) when ``data`` is not a stored token."""
    try:
        stored = _Stored.model_validate_json(data.get_secret_value() if isinstance(data, SecretBytes) else data)
    except _PydanticError:
        pass
    else:
        return StoredToken(
            stored.access_token,
            stored.refresh_token,
            stored.expires_at,
            stored.scopes,
            stored.token_type,
            stored.id_token,
        )
    # Raised outside the handler: pydantic's error (which holds the input) must not become this one's context.
    raise ValueError("stored token: not a token object")
