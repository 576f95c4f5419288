"""Redaction by value: the registry of secrets the process holds, ``scrub``, and the logging filter."""

from __future__ import annotations

import io
import logging
import secrets
import sys

import pytest
from pydantic import SecretStr

from onyx_fanvue import redaction
from onyx_fanvue.redaction import (
    MIN_LENGTH,
    REDACTED,
    Secret,
    SecretFilter,
    _Registry,
    as_secret,
    install_log_filter,
    remember,
    scrub,
)


def fresh(prefix: str = "sv_") -> str:
    """A value no other test has made a secret of."""
    return prefix + secrets.token_urlsafe(24)


@pytest.mark.parametrize(
    "template",
    [
        "token {} is not valid",
        "{}",
        '{{"seen": "{}"}}',
        "https://x.example/cb?code={}&state=1",
        "({}).",
        "prefix{}suffix",  # glued to other words: still found
    ],
)
def test_a_held_secret_is_scrubbed_whatever_the_words_around_it(template: str) -> None:
    value = fresh()
    Secret(value)
    said = scrub(template.format(value))
    assert value not in said
    assert said == template.format(REDACTED)


def test_only_values_the_process_holds_are_scrubbed_by_value() -> None:
    held, stranger = fresh(), fresh()
    Secret(held)
    assert scrub(f"{held} {stranger}") == f"{REDACTED} {stranger}"
    remember(stranger)  # a secret of the caller's own, e.g. a TOTP seed
    assert scrub(stranger) == REDACTED


def test_short_values_are_not_remembered_but_a_requests_own_are_scrubbed_from_its_error() -> None:
    short = "k" * (MIN_LENGTH - 1)
    Secret(short)
    assert scrub(f"the word {short}") == f"the word {short}"
    assert scrub(f"the word {short}", Secret(short)) == f"the word {REDACTED}"
    assert scrub("abc abc", SecretStr("abc")) == "abc abc"  # under 4 characters: too noisy even there


def test_the_longest_secret_wins_when_one_contains_another() -> None:
    inner = fresh()
    outer = inner + "-and-more"
    Secret(inner)
    Secret(outer)
    assert scrub(f"x {outer} y {inner} z") == f"x {REDACTED} y {REDACTED} z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer [redacted]"),
        ("got ory_at_somethingNeverHeld here", "got [redacted] here"),
        ("ory_rt_x and ory_ac_y", "[redacted] and [redacted]"),
        ("refresh_token=neverheld123&x=1", "refresh_token=[redacted]&x=1"),
        ('{"access_token": "neverheld123", "n": 1}', '{"access_token": "[redacted]", "n": 1}'),
        ("client_secret: hunter22", "client_secret: [redacted]"),
        ("token response: 'access_token' is missing", "token response: 'access_token' is missing"),
        ("the password_hash column", "the password_hash column"),
    ],
)
def test_credential_shapes_are_masked_even_when_never_held(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_the_registry_is_bounded_and_forgets_the_least_recently_used() -> None:
    registry = _Registry(capacity=3)
    values = [fresh() for _ in range(4)]
    for value in values[:3]:
        registry.remember(value)
    registry.remember(values[0])  # used again: now the most recent
    registry.remember(values[3])  # over capacity: values[1] goes
    assert registry.found_in(" ".join(values)) == {values[0], values[2], values[3]}


def test_a_secret_in_use_stays_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redaction, "_REGISTRY", _Registry(capacity=2))
    used, idle = Secret(fresh()), Secret(fresh())
    used_value, idle_value = SecretStr.get_secret_value(used), SecretStr.get_secret_value(idle)  # no touch
    used.get_secret_value()  # unwrapped for the wire: the most recent again
    Secret(fresh())  # one more: the least recently used (the idle one) is forgotten
    assert scrub(f"{used_value} {idle_value}") == f"{REDACTED} {idle_value}"


def test_secret_is_a_pydantic_secretstr_that_never_shows_its_value() -> None:
    value = fresh()
    secret = as_secret(value)
    assert isinstance(secret, SecretStr)
    assert value not in repr(secret) + str(secret) + f"{secret}"
    assert as_secret(secret) is secret
    assert as_secret(SecretStr(value)) == secret
    assert secret == Secret(value)
    assert hash(secret) == hash(Secret(value))


def _captured(logger: logging.Logger) -> tuple[io.StringIO, logging.Handler]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return out, handler


def test_the_log_filter_scrubs_messages_arguments_exceptions_and_stacks() -> None:
    value = fresh()
    Secret(value)
    logger = logging.getLogger("test_redaction.filtered")
    logger.addFilter(SecretFilter())
    out, handler = _captured(logger)
    try:
        logger.info("refresh with %s failed", value)
        logger.warning(f"inline {value}")
        try:
            raise RuntimeError(f"server said {value}")
        except RuntimeError:
            logger.exception("failed")
        logger.debug("where", stack_info=True, extra={"unrelated": 1})
        logger.info("broken %s %s", "only one")  # noqa: PLE1206 - a bad format string: the filter must not raise
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    assert value not in text
    assert text.count(REDACTED) >= 3
    assert "RuntimeError: server said [redacted]" in text


def test_the_sdk_installs_the_filter_on_the_loggers_its_data_passes_through() -> None:
    install_log_filter("test_redaction.named")
    install_log_filter("test_redaction.named")  # once only
    named = logging.getLogger("test_redaction.named").filters
    assert sum(isinstance(f, SecretFilter) for f in named) == 1
    for name in ("onyx_fanvue", "onyx_fanvue.sandbox", "httpx", "httpcore.http11", "httpcore.connection"):
        assert any(isinstance(f, SecretFilter) for f in logging.getLogger(name).filters), name
    value = fresh()
    Secret(value)
    out, handler = _captured(logging.getLogger("httpx"))
    try:
        logging.getLogger("httpx").info("HTTP Request: GET https://x.example/?t=%s", value)
    finally:
        logging.getLogger("httpx").removeHandler(handler)
        logging.getLogger("httpx").propagate = True
    assert value not in out.getvalue()
    assert "onyx_fanvue.redaction" in sys.modules
