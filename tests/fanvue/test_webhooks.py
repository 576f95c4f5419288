"""Webhook signatures (X-Fanvue-Signature) and event parsing: every failure is a WebhookVerificationError with its
own message that never carries the secret, and every documented event parses, unknown ones included."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onyx_fanvue._types import Money
from onyx_fanvue.errors import FanvueError, WebhookVerificationError
from onyx_fanvue.webhooks import (
    DEFAULT_TOLERANCE,
    SIGNATURE_HEADER,
    CreatorLogout,
    EnvelopeEvent,
    MessageRead,
    MessageReceived,
    NewFollower,
    NewSubscriber,
    PurchaseReceived,
    TipReceived,
    UnknownEvent,
    WebhookPayloadError,
    WebhookVerifier,
    parse_event,
    sign,
    verify_signature,
)

SECRET = "whs-test-signing-secret-0123"
T = 1_777_636_800  # 2026-05-01T12:00:00Z
NOW = datetime.fromtimestamp(T, UTC)
BODY = b'{"price":999,"recipientUuid":"creator-1"}'

SENDER = {"uuid": "fan-1", "handle": "fan_one", "displayName": "Fan One", "avatarUrl": "https://cdn.example/a.png"}
SAMPLES: dict[str, dict[str, object]] = {
    "message.received": {
        "message": {
            "uuid": "msg-1",
            "text": "hi there",
            "hasMedia": True,
            "mediaUuids": ["m-1"],
            "price": 500,
            "createdAt": "2026-05-01T11:59:58Z",
        },
        "messageUuid": "msg-1",
        "sender": SENDER,
        "recipientUuid": "creator-1",
        "isMuted": False,
        "timestamp": "2026-05-01T12:00:00Z",
    },
    "follow.new": {"recipientUuid": "creator-1", "sender": SENDER, "timestamp": "2026-05-01T12:00:00Z"},
    "subscription.new": {
        "price": 999,
        "recipientUuid": "creator-1",
        "sender": SENDER,
        "timestamp": "2026-05-01T12:00:00Z",
    },
    "purchase.new": {
        "postUuid": "post-1",
        "price": 1500,
        "recipientUuid": "creator-1",
        "sender": SENDER,
        "timestamp": "2026-05-01T12:00:00Z",
    },
    "tip.new": {
        "context": "message",
        "messageUuid": "msg-9",
        "recipientUuid": "creator-1",
        "senderUuid": "fan-1",
        "price": 2000,
        "sender": SENDER,
        "timestamp": "2026-05-01T12:00:00Z",
    },
}


def raises_message(payload: bytes, header: str | None, secret: str | bytes = SECRET, **kwargs: object) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        verify_signature(payload, header, secret, now=NOW, **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


# ---------------------------------------------------------------- signatures


def test_sign_matches_the_documented_scheme():
    digest = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, SECRET, T) == f"t={T},v0={digest}"


def test_good_signature_returns_the_timestamp():
    assert verify_signature(BODY, sign(BODY, SECRET, T), SECRET, now=NOW) == T


@pytest.mark.parametrize("secret", [SECRET, SECRET.encode(), bytearray(SECRET.encode())])
def test_secret_as_str_or_bytes(secret):
    assert verify_signature(BODY, sign(BODY, secret, T), SECRET, now=NOW) == T
    assert verify_signature(BODY, sign(BODY, SECRET, T), secret, now=NOW) == T


def test_non_ascii_secret_is_utf8():
    assert verify_signature(BODY, sign(BODY, "clé-secrète", T), "clé-secrète".encode(), now=NOW) == T


def test_tampered_body_fails():
    message = raises_message(BODY.replace(b"999", b"998"), sign(BODY, SECRET, T))
    assert "does not match" in message


def test_reserialised_json_fails():
    # A framework that parses and re-dumps the body breaks the signature: the raw bytes are required.
    reserialised = json.dumps(json.loads(BODY)).encode()
    assert reserialised != BODY
    assert "does not match" in raises_message(reserialised, sign(BODY, SECRET, T))


def test_wrong_secret_fails():
    assert "does not match" in raises_message(BODY, sign(BODY, "another-secret", T))


def test_signature_for_another_timestamp_fails():
    forged = sign(BODY, SECRET, T).replace(f"t={T}", f"t={T + 1}")
    assert "does not match" in raises_message(BODY, forged)


def test_stale_timestamp_fails():
    message = raises_message(BODY, sign(BODY, SECRET, T - 301))
    assert "too old" in message
    assert "301 s" in message


def test_future_timestamp_fails():
    assert "in the future" in raises_message(BODY, sign(BODY, SECRET, T + 301))


@pytest.mark.parametrize("offset", [-300, 300, 0])
def test_exactly_at_tolerance_passes(offset):
    assert verify_signature(BODY, sign(BODY, SECRET, T + offset), SECRET, now=NOW) == T + offset


def test_custom_tolerance():
    header = sign(BODY, SECRET, T - 3600)
    assert verify_signature(BODY, header, SECRET, now=NOW, tolerance=timedelta(hours=1)) == T - 3600
    assert "too old" in raises_message(BODY, header, tolerance=timedelta(minutes=59))


def test_default_now_is_the_clock():
    now = int(datetime.now(UTC).timestamp())
    assert verify_signature(BODY, sign(BODY, SECRET, now), SECRET) == now
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify_signature(BODY, sign(BODY, SECRET, now - 3600), SECRET)


def test_default_tolerance_is_five_minutes():
    assert timedelta(seconds=300) == DEFAULT_TOLERANCE


def test_several_v0_values_any_match_passes():
    good = sign(BODY, SECRET, T).split("v0=")[1]
    other = sign(BODY, "old-secret", T).split("v0=")[1]
    assert verify_signature(BODY, f"t={T},v0={other},v0={good}", SECRET, now=NOW) == T
    assert verify_signature(BODY, f"t={T},v0={good},v0={other}", SECRET, now=NOW) == T
    assert "does not match" in raises_message(BODY, f"t={T},v0={other},v0={'0' * 64}")


def test_whitespace_unknown_parts_and_upper_case_hex_are_tolerated():
    good = sign(BODY, SECRET, T).split("v0=")[1]
    header = f"  t = {T} ,  v1=whatever , scheme=x,, v0= {good.upper()} ,"
    assert verify_signature(BODY, header, SECRET, now=NOW) == T


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_header(header):
    assert raises_message(BODY, header) == f"missing {SIGNATURE_HEADER} header"


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("garbage", "not key=value"),
        (f"t={T},v0", "not key=value"),
        ("v0=abcd", "no timestamp"),
        (f"t={T},t={T},v0=abcd", "several timestamps"),
        ("t=,v0=abcd", "not unix seconds"),
        ("t=-5,v0=abcd", "not unix seconds"),
        ("t=+5,v0=abcd", "not unix seconds"),
        ("t=1_000,v0=abcd", "not unix seconds"),
        ("t=١٢٣,v0=abcd", "not unix seconds"),  # Arabic-Indic digits: int() would take them
        ("t=1.5,v0=abcd", "not unix seconds"),
        (f"t={'9' * 30},v0=abcd", "not unix seconds"),
        (f"t={T}", "no v0 signature"),
        (f"t={T},v1=abcd", "no v0 signature"),
        (f"t={T},v0=xyz", "not hex"),
        (f"t={T},v0=", "not hex"),
        (f"t={T},v0=abcd,v0=nothex", "not hex"),
        (f"t={T},v0={'a' * 129}", "not hex"),
    ],
)
def test_malformed_headers(header, fragment):
    assert fragment in raises_message(BODY, header)


def test_each_failure_has_its_own_message():
    good = sign(BODY, SECRET, T)
    messages = {
        raises_message(BODY, None),
        raises_message(BODY, "garbage"),
        raises_message(BODY, f"t={T}"),
        raises_message(BODY, f"t={T},v0=zz"),
        raises_message(BODY, sign(BODY, SECRET, T - 301)),
        raises_message(BODY, sign(BODY, SECRET, T + 301)),
        raises_message(b"x" + BODY, good),
    }
    assert len(messages) == 7


def test_misuse_is_a_value_error():
    with pytest.raises(ValueError, match="empty"):
        verify_signature(BODY, sign(BODY, SECRET, T), "", now=NOW)
    with pytest.raises(ValueError, match="empty"):
        sign(BODY, b"", T)
    with pytest.raises(ValueError, match="negative"):
        verify_signature(BODY, sign(BODY, SECRET, T), SECRET, now=NOW, tolerance=timedelta(seconds=-1))
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_signature(BODY, sign(BODY, SECRET, T), SECRET, now=datetime(2026, 5, 1, 12))
    for bad in (-1, True):
        with pytest.raises(ValueError, match="non-negative int"):
            sign(BODY, SECRET, bad)


@given(header=st.text())
def test_arbitrary_headers_only_raise_verification_errors(header):
    with contextlib.suppress(WebhookVerificationError):
        verify_signature(BODY, header, SECRET, now=NOW)


@given(
    timestamp=st.integers(min_value=0, max_value=10**20 - 1),
    parts=st.lists(st.tuples(st.sampled_from(["t", "v0", "v1", "x", " v0 "]), st.text()), max_size=6),
)
def test_header_shaped_text_only_raises_verification_errors(timestamp, parts):
    header = ",".join([f"t={timestamp}", *(f"{key}={value}" for key, value in parts)])
    with contextlib.suppress(WebhookVerificationError):
        verify_signature(BODY, header, SECRET, now=NOW)


SECRETS = st.one_of(st.text(min_size=1), st.binary(min_size=1))


def outcome(body: bytes, header: str | None, key: str | bytes) -> str:
    try:
        verify_signature(body, header, key, now=NOW)
    except WebhookVerificationError as error:
        return str(error)
    return "ok"


@given(secret=SECRETS, other=SECRETS, body=st.binary(), offset=st.integers(min_value=-10_000, max_value=10_000))
def test_messages_never_depend_on_the_secret(secret, other, body, offset):
    # Stronger than "the secret is not a substring" (a secret like "0" is in many messages by chance): swapping
    # the secret for another one, in the same role, never changes the message.
    for header in (None, "garbage", f"t={T}", f"t={T},v0=zz"):
        assert outcome(body, header, secret) == outcome(body, header, other)
    # Signed and checked with the same key: "ok" or the same too-old/too-new message, whichever the key.
    assert outcome(body, sign(body, secret, T + offset), secret) == outcome(body, sign(body, other, T + offset), other)
    # Signed with one key, checked with the other: the same mismatch message both ways round.
    if _secret(secret) != _secret(other):
        wrong = outcome(body, sign(body, secret, T + offset), other)
        assert wrong == outcome(body, sign(body, other, T + offset), secret)
        assert "does not match" in wrong


def _secret(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else key


@given(secret=st.text(alphabet="ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ_-", min_size=8), body=st.binary())
def test_messages_never_contain_the_secret_or_the_expected_signature(secret, body):
    expected = sign(body, secret, T).split("v0=")[1]
    for header in (sign(b"x" + body, secret, T), sign(body, secret, T - 1000), f"t={T},v0=00", "t=1"):
        message = raises_message(body, header, secret)
        assert secret not in message
        assert expected not in message
        assert expected[:16] not in message


# ---------------------------------------------------------------- events


def test_message_received():
    event = parse_event("message.received", json.dumps(SAMPLES["message.received"]).encode())
    assert isinstance(event, MessageReceived)
    assert event.event_type == "message.received"
    assert event.message.uuid == "msg-1"
    assert event.message.has_media is True
    assert event.message.media_uuids == ["m-1"]
    assert event.message.price == Money(cents=500)
    assert event.message.created_at == datetime(2026, 5, 1, 11, 59, 58, tzinfo=UTC)
    assert event.sender.display_name == "Fan One"
    assert event.sender.avatar_url == "https://cdn.example/a.png"
    assert event.recipient_uuid == "creator-1"
    assert event.is_muted is False
    assert event.timestamp == NOW


def test_message_received_minimal_message():
    payload = dict(SAMPLES["message.received"], message={"uuid": "msg-2", "text": None, "hasMedia": False})
    event = parse_event("message.received", payload)
    assert isinstance(event, MessageReceived)
    assert event.message.price is None
    assert event.message.media_uuids == []


def test_new_follower():
    event = parse_event("follow.new", SAMPLES["follow.new"])
    assert isinstance(event, NewFollower)
    assert event.sender is not None
    assert event.sender.handle == "fan_one"
    assert event.recipient_uuid == "creator-1"


def test_new_follower_tolerates_an_empty_payload():
    # The follow.new shape is inferred, not documented: nothing is required.
    event = parse_event("follow.new", b"{}")
    assert isinstance(event, NewFollower)
    assert event.sender is None


def test_new_subscriber():
    event = parse_event("subscription.new", json.dumps(SAMPLES["subscription.new"]))
    assert isinstance(event, NewSubscriber)
    assert event.price == Money(cents=999)
    assert event.sender.uuid == "fan-1"
    assert event.timestamp == NOW


def test_purchase_received():
    event = parse_event("purchase.new", SAMPLES["purchase.new"])
    assert isinstance(event, PurchaseReceived)
    assert event.post_uuid == "post-1"
    assert event.route_uuid is None
    assert event.price.cents == 1500


def test_tip_received():
    event = parse_event("tip.new", SAMPLES["tip.new"])
    assert isinstance(event, TipReceived)
    assert event.context == "message"
    assert event.message_uuid == "msg-9"
    assert event.sender_uuid == "fan-1"
    assert event.price.cents == 2000
    assert event.post_uuid is None


def test_unix_timestamps_are_accepted():
    event = parse_event("subscription.new", dict(SAMPLES["subscription.new"], timestamp=T))
    assert isinstance(event, NewSubscriber)
    assert event.timestamp == NOW


@pytest.mark.parametrize(("event_type", "model"), [("message.read", MessageRead), ("creator.logout", CreatorLogout)])
def test_undocumented_payloads_keep_every_field(event_type, model):
    event = parse_event(event_type, {"recipientUuid": "creator-1", "whatever": [1, 2]})
    assert isinstance(event, model)
    assert event.event_type == event_type
    assert event.model_extra == {"recipientUuid": "creator-1", "whatever": [1, 2]}


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_unknown_fields_are_kept(event_type):
    payload = dict(SAMPLES[event_type], brandNewField={"x": 1}, sender=dict(SENDER, verified=True))
    event = parse_event(event_type, payload)
    assert event.model_extra is not None
    assert event.model_extra["brandNewField"] == {"x": 1}
    sender = getattr(event, "sender", None)
    assert sender is not None
    assert sender.model_extra == {"verified": True}


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_every_sample_round_trips_to_its_json_names(event_type):
    event = parse_event(event_type, SAMPLES[event_type])
    dumped = event.model_dump(by_alias=True, mode="json", exclude_unset=True)
    assert dumped["recipientUuid"] == "creator-1"
    assert dumped["sender"]["displayName"] == "Fan One"


def test_event_type_is_normalised():
    assert isinstance(parse_event(" Tip.New ", SAMPLES["tip.new"]), TipReceived)


def test_unknown_event_type_keeps_everything():
    payload = {"anything": 1, "nested": {"a": [True]}}
    event = parse_event("creator.payment.succeeded", json.dumps(payload).encode())
    assert isinstance(event, UnknownEvent)
    assert event.event_type == "creator.payment.succeeded"
    assert event.data == payload


@given(
    event_type=st.text(),
    payload=st.dictionaries(st.text(), st.one_of(st.none(), st.integers(), st.text(), st.booleans())),
)
def test_unknown_event_types_never_fail(event_type, payload):
    if event_type.strip().lower() in {
        "message.received",
        "message.read",
        "follow.new",
        "subscription.new",
        "purchase.new",
        "tip.new",
        "creator.logout",
    }:
        return
    payload.pop("type", None)
    event = parse_event(event_type, payload)
    assert isinstance(event, UnknownEvent)
    assert event.data == payload


def test_envelope_form():
    envelope = {
        "id": "evt_01J",
        "type": "checkout_link.payment.succeeded",
        "timestamp": "2026-05-01T12:00:00Z",
        "data": {"amount": 1500, "currency": "USD"},
        "extra": "kept",
    }
    # The envelope names its own type, whatever the endpoint was subscribed to.
    for event_type in ("checkout_link.payment.succeeded", "tip.new", ""):
        event = parse_event(event_type, json.dumps(envelope).encode())
        assert isinstance(event, EnvelopeEvent)
        assert event.id == "evt_01J"
        assert event.type == event.event_type == "checkout_link.payment.succeeded"
        assert event.timestamp == NOW
        assert event.data == {"amount": 1500, "currency": "USD"}
        assert event.model_extra == {"extra": "kept"}


def test_not_an_envelope_without_object_data():
    event = parse_event("something.else", {"type": "x", "data": "not an object"})
    assert isinstance(event, UnknownEvent)


def test_bad_envelope_timestamp_is_a_payload_error():
    with pytest.raises(WebhookPayloadError, match=r"payout\.paid"):
        parse_event("", {"type": "payout.paid", "data": {}, "timestamp": "yesterday"})


@pytest.mark.parametrize("body", [b"", b"{", b"not json", b"\xff\xfe\x00", "{'single': 1}"])
def test_malformed_json_is_a_payload_error(body):
    with pytest.raises(WebhookPayloadError, match="not valid JSON") as caught:
        parse_event("tip.new", body)
    assert isinstance(caught.value, FanvueError)
    assert not isinstance(caught.value, WebhookVerificationError)


@pytest.mark.parametrize("body", [b"[]", b"1", b'"text"', b"null"])
def test_non_object_json_is_a_payload_error(body):
    with pytest.raises(WebhookPayloadError, match="not a JSON object"):
        parse_event("unknown.type", body)


def test_known_event_missing_fields_is_a_payload_error():
    payload = dict(SAMPLES["tip.new"])
    del payload["price"]
    payload["sender"] = {"uuid": "fan-1"}
    with pytest.raises(WebhookPayloadError) as caught:
        parse_event("tip.new", payload)
    message = str(caught.value)
    assert message.startswith("tip.new webhook payload does not fit")
    assert "price" in message
    assert "sender.handle" in message
    assert caught.value.payload == payload


def test_fractional_price_is_a_payload_error_without_echoing_values():
    payload = dict(SAMPLES["subscription.new"], price=9.99)
    with pytest.raises(WebhookPayloadError, match="price") as caught:
        parse_event("subscription.new", payload)
    assert "fan_one" not in str(caught.value)


# ---------------------------------------------------------------- verifier


@pytest.mark.parametrize("name", [SIGNATURE_HEADER, "x-fanvue-signature", "X-FANVUE-SIGNATURE"])
def test_verifier_finds_the_header_in_any_case(name):
    body = json.dumps(SAMPLES["tip.new"]).encode()
    headers = {"Content-Type": "application/json", name: sign(body, SECRET, T)}
    event = WebhookVerifier(SECRET).verify_and_parse("tip.new", body, headers, now=NOW)
    assert isinstance(event, TipReceived)
    assert WebhookVerifier(SECRET.encode()).verify(body, headers, now=NOW) == T


def test_verifier_verifies_before_parsing():
    verifier = WebhookVerifier(SECRET)
    with pytest.raises(WebhookVerificationError, match="missing"):
        verifier.verify_and_parse("tip.new", b"not json", {}, now=NOW)
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verifier.verify_and_parse("tip.new", b"{}", {SIGNATURE_HEADER: sign(b"{}", "other", T)}, now=NOW)
    with pytest.raises(WebhookPayloadError):
        verifier.verify_and_parse("tip.new", b"not json", {SIGNATURE_HEADER: sign(b"not json", SECRET, T)}, now=NOW)


def test_verifier_tolerance():
    body = b"{}"
    headers = {SIGNATURE_HEADER: sign(body, SECRET, T - 600)}
    with pytest.raises(WebhookVerificationError, match="too old"):
        WebhookVerifier(SECRET).verify(body, headers, now=NOW)
    assert WebhookVerifier(SECRET, tolerance=timedelta(minutes=10)).verify(body, headers, now=NOW) == T - 600


def test_verifier_hides_its_secret():
    verifier = WebhookVerifier(SECRET)
    assert SECRET not in repr(verifier)
    assert not hasattr(verifier, "__dict__")
    with pytest.raises(ValueError, match="empty"):
        WebhookVerifier("")
    with pytest.raises(ValueError, match="negative"):
        WebhookVerifier(SECRET, tolerance=timedelta(seconds=-1))
