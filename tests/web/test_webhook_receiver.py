"""Fanvue's webhooks on SQLite and PostgreSQL: a signed delivery of a payment lands in the same ledger as polling,
and the polled row of the same payment replaces it (one payment, one row); a replay adds nothing; anything not
signed with the agency's secret is 401 and changes nothing; a payment of another agency's creator is ignored and
logged; the secret is stored encrypted, set by owners and admins only."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from auth_kit import Env, client, make_env
from sqlalchemy import update
from tenancy_kit import Tenancy
from web_helpers import KEY
from webhook_kit import (
    SECRET,
    Counts,
    counts,
    deliveries,
    payment_body,
    rows,
    sandbox_agency,
    signed,
    stored_secret,
    tip_body,
)

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.repositories.webhooks import SqlWebhookPayments
from onyx_adapters.sql.schema import webhook_secrets
from onyx_adapters.sql.uow import SqlUnitOfWork
from onyx_core.accounts.model import Role
from onyx_core.ids import CreatorId, FanId
from onyx_core.ledger import LedgerEntry
from onyx_core.money import Money
from onyx_core.provisional import provisional_key
from onyx_fanvue.sandbox.world import Person

PROBLEM = "application/problem+json"
BRAVO = "whsec_bravo_0123456789abcdefghij"  # pragma: allowlist secret
ROTATED = "whsec_rotated_0123456789abcdefgh"  # pragma: allowlist secret


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def set_secret(env: Env, t: Tenancy, email: str, secret: str | None = SECRET) -> None:
    with client(env.app) as c:
        body = {} if secret is None else {"secret": secret}
        response = c.put("/api/webhooks/secret", json=body, headers=t.session(email).headers(unsafe=True))
    assert response.status_code == 200, response.text


def url(agency_id: str, event_type: str = "tip.new") -> str:
    return f"/webhooks/fanvue/{agency_id}/{event_type}"


def test_a_webhook_and_the_poll_of_the_same_payment_are_one_row(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    set_secret(env, t, a.owner_email)
    world = sandbox_agency(env, a)
    now = env.clock.now()
    announced = world.sandbox.add_earning(world.creator_id, gross=1234, source="tip", at=now - timedelta(minutes=3))
    missed = world.sandbox.add_earning(world.creator_id, gross=777, source="tip", at=now - timedelta(minutes=2))
    before = counts(env.url, world.creator_id)
    assert before == Counts(0, 0, 0)
    body = tip_body(announced, world.creator_id)
    with client(env.app) as c:
        first = c.post(url(a.id), content=body, headers=signed(body, now))
        replay = c.post(url(a.id), content=body, headers=signed(body, now))
    assert first.status_code == 200, first.text
    assert first.json() == {"result": "recorded", "event_type": "tip.new"}
    assert replay.json()["result"] == "duplicate"
    assert counts(env.url, world.creator_id) == Counts(1, 1, 1)  # the replay added nothing
    (provisional,) = rows(env.url, world.creator_id)
    assert (provisional.source, provisional.gross_cents, provisional.net_cents) == ("tip", 1234, 0)

    report = world.sync()  # the normal sync: reads every Fanvue row, the announced one and the missed one included

    fanvue = world.fanvue_earnings()
    assert report.outcome.value == "completed"
    assert counts(env.url, world.creator_id) == Counts(len(fanvue), 0, 1)
    stored = {row.key: row for row in rows(env.url, world.creator_id)}
    assert set(stored) == {f"earning:{row.transaction_order_id}" for row in fanvue}
    polled = stored[f"earning:{announced.transaction_order_id}"]
    assert (polled.gross_cents, polled.net_cents) == (1234, announced.net)  # the poll brought the real net
    assert f"earning:{missed.transaction_order_id}" in stored  # the poll reconciles what no webhook announced
    (delivery,) = deliveries(env.url, world.creator_id)
    assert delivery.ledger_key == polled.key

    with client(env.app) as c:  # Fanvue redelivers after the poll: still one row
        again = c.post(url(a.id), content=body, headers=signed(body, now))
    assert again.json()["result"] == "duplicate"
    assert world.sync().inserted == 0
    assert counts(env.url, world.creator_id) == Counts(len(fanvue), 0, 1)


def test_a_webhook_after_the_poll_adds_nothing(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    set_secret(env, t, a.owner_email)
    world = sandbox_agency(env, a)
    now = env.clock.now()
    paid = world.sandbox.add_earning(world.creator_id, gross=2500, source="tip", at=now - timedelta(minutes=4))
    world.sync()
    polled = counts(env.url, world.creator_id)
    body = tip_body(paid, world.creator_id)
    with client(env.app) as c:
        late = c.post(url(a.id), content=body, headers=signed(body, now))
    assert late.json()["result"] == "already_polled"
    assert counts(env.url, world.creator_id) == Counts(polled.ledger, 0, 1)
    (delivery,) = deliveries(env.url, world.creator_id)
    assert delivery.ledger_key == f"earning:{paid.transaction_order_id}"


def test_two_equal_payments_announced_by_two_webhooks_stay_two_rows(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    set_secret(env, t, a.owner_email)
    world = sandbox_agency(env, a)
    now = env.clock.now()
    paid = [
        world.sandbox.add_earning(world.creator_id, gross=999, source="tip", at=now - timedelta(minutes=m))
        for m in (5, 4)
    ]
    with client(env.app) as c:
        for row in paid:
            body = tip_body(row, world.creator_id)
            assert c.post(url(a.id), content=body, headers=signed(body, now)).json()["result"] == "recorded"
    world.sync()
    assert counts(env.url, world.creator_id) == Counts(len(world.fanvue_earnings()), 0, 2)
    stands_for = {d.ledger_key for d in deliveries(env.url, world.creator_id)}
    assert stands_for == {f"earning:{row.transaction_order_id}" for row in paid}


@pytest.mark.parametrize(
    ("event_type", "extra", "source", "reference"),
    [
        ("tip.new", {"context": "message", "messageUuid": "msg-1"}, "tip", "msg-1"),
        ("purchase.new", {"postUuid": "post-1"}, "post", "post-1"),
        ("purchase.new", {"routeUuid": "route-1"}, "message", "route-1"),
        ("subscription.new", {}, "subscription", None),
    ],
)
def test_each_payment_event_is_an_entry_of_pollings_source(
    env: Env, event_type: str, extra: dict[str, str], source: str, reference: str | None
) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    creator = t.creator(a)
    set_secret(env, t, a.owner_email)
    fan = _fan()
    now = env.clock.now()
    body = payment_body(creator, fan, now - timedelta(seconds=30), price=1500, **extra)
    with client(env.app) as c:
        response = c.post(url(a.id, event_type), content=body, headers=signed(body, now))
    assert response.json() == {"result": "recorded", "event_type": event_type}
    (row,) = rows(env.url, creator)
    assert (row.source, row.kind, row.gross_cents, row.net_cents, row.currency) == (source, "earning", 1500, 0, "USD")
    assert (row.fan_id, row.reference) == (fan.uuid, reference)


def test_events_without_money_change_nothing(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    creator = t.creator(a)
    set_secret(env, t, a.owner_email)
    now = env.clock.now()
    follow = payment_body(creator, _fan(), now)
    free = payment_body(creator, _fan(), now, price=0)
    with client(env.app) as c:
        answers = [
            c.post(url(a.id, "follow.new"), content=follow, headers=signed(follow, now)),
            c.post(url(a.id, "creator.logout"), content=b"{}", headers=signed(b"{}", now)),
            c.post(url(a.id, "subscription.new"), content=free, headers=signed(free, now)),
        ]
    assert [r.json()["result"] for r in answers] == ["no_payment"] * 3
    assert counts(env.url, creator) == Counts(0, 0, 0)


def test_anything_not_signed_with_the_agencys_secret_is_401_and_changes_nothing(env: Env) -> None:
    t = Tenancy(env)
    a, b, c_agency = t.agency("Alpha"), t.agency("Bravo"), t.agency("Charlie")
    creator = t.creator(a)
    set_secret(env, t, a.owner_email)
    set_secret(env, t, b.owner_email, BRAVO)
    now = env.clock.now()
    body = payment_body(creator, _fan(), now, context="post")
    attempts = {
        "no signature": (url(a.id), body, {"content-type": "application/json"}),
        "another agency's secret": (url(a.id), body, signed(body, now, BRAVO)),
        "a tampered body": (url(a.id), body.replace(b"500", b"50000"), signed(body, now)),
        "a stale signature": (url(a.id), body, signed(body, now - timedelta(seconds=301))),
        "a future signature": (url(a.id), body, signed(body, now + timedelta(seconds=301))),
        "a malformed header": (url(a.id), body, {"X-Fanvue-Signature": "t=abc,v0=zz"}),
        "an unknown agency": (url("no-such-agency"), body, signed(body, now)),
        "an agency without a secret": (url(c_agency.id), body, signed(body, now)),
        "the right secret, another agency's address": (url(b.id), body, signed(body, now)),
    }
    with client(env.app) as c:
        answers = {
            why: c.post(path, content=content, headers=headers) for why, (path, content, headers) in attempts.items()
        }
    details = set()
    for why, response in answers.items():
        assert response.status_code == 401, why
        assert response.headers["content-type"] == PROBLEM, why
        details.add(response.json()["detail"])
        assert SECRET not in response.text, why
    assert len(details) == 1  # an unknown agency is told apart from nothing
    assert counts(env.url, creator) == Counts(0, 0, 0)
    with client(env.app) as c:
        good = c.post(url(a.id), content=body, headers=signed(body, now))
    assert good.json()["result"] == "recorded"  # the same body, signed right, goes in


def test_a_payment_for_another_agencys_creator_is_ignored_and_logged(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    t = Tenancy(env)
    a, b = t.agency("Alpha"), t.agency("Bravo")
    theirs = t.creator(b)
    set_secret(env, t, a.owner_email)
    now = env.clock.now()
    body = payment_body(theirs, _fan(), now, context="post")
    unknown = payment_body("not-a-creator-anywhere", _fan(), now, context="post")
    with caplog.at_level(logging.INFO), client(env.app) as c:
        foreign = c.post(url(a.id), content=body, headers=signed(body, now))
        nobody = c.post(url(a.id), content=unknown, headers=signed(unknown, now))
    assert foreign.status_code == 200  # acknowledged: a retry would not make her the agency's
    assert foreign.json()["result"] == "foreign_creator"
    assert nobody.json()["result"] == "foreign_creator"
    assert counts(env.url, theirs) == Counts(0, 0, 0)
    ignored = [r.getMessage() for r in caplog.records if "not a creator of the agency" in r.getMessage()]
    assert len(ignored) == 2
    assert theirs in ignored[0]
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_unknown_event_types_and_malformed_genuine_bodies_are_refused_with_nothing_written(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    creator = t.creator(a)
    set_secret(env, t, a.owner_email)
    now = env.clock.now()
    fractional = payment_body(creator, _fan(), now, context="post").replace(b'"price": 500', b'"price": 5.5')
    no_target = payment_body(creator, _fan(), now)
    with client(env.app) as c:
        unknown = c.post(url(a.id, "payout.sent"), content=b"{}", headers=signed(b"{}", now))
        not_json = c.post(url(a.id), content=b"not json", headers=signed(b"not json", now))
        missing = c.post(url(a.id), content=b"{}", headers=signed(b"{}", now))
        cents = c.post(url(a.id), content=fractional, headers=signed(fractional, now))
        purchase = c.post(url(a.id, "purchase.new"), content=no_target, headers=signed(no_target, now))
    assert unknown.status_code == 404
    for response in (not_json, missing, cents, purchase):
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == PROBLEM
    assert counts(env.url, creator) == Counts(0, 0, 0)


def test_the_secret_is_stored_encrypted_and_shown_once(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    owner = t.session(a.owner_email)
    with client(env.app) as c:
        empty = c.get("/api/webhooks/secret", headers=owner.headers())
        generated = c.put("/api/webhooks/secret", headers=owner.headers(unsafe=True))
        shown = c.get("/api/webhooks/secret", headers=owner.headers())
        given = c.put("/api/webhooks/secret", json={"secret": SECRET}, headers=owner.headers(unsafe=True))
        after = c.get("/api/webhooks/secret", headers=owner.headers())
    assert empty.json()["configured"] is False
    assert empty.json()["receiver_path"] == f"/webhooks/fanvue/{a.id}/{{event_type}}"
    secret = generated.json()["secret"]
    assert secret.startswith("whsec_")
    assert len(secret) >= 40
    assert shown.json()["configured"] is True
    assert shown.json()["masked"] == "…" + secret[-4:]
    assert secret not in shown.text
    assert given.json()["secret"] is None  # a secret you gave is not echoed back
    assert SECRET not in given.text
    assert SECRET not in after.text
    raw = stored_secret(env.url, a.id)
    assert raw is not None
    assert SECRET.encode() not in raw
    assert secret.encode() not in raw


def test_only_owners_and_admins_may_see_or_set_the_secret(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    admin = t.session(t.member(a, Role.ADMIN))
    for role in (Role.MANAGER, Role.VIEWER):
        member = t.session(t.member(a, role))
        with client(env.app) as c:
            read = c.get("/api/webhooks/secret", headers=member.headers())
            write = c.put("/api/webhooks/secret", json={"secret": SECRET}, headers=member.headers(unsafe=True))
        assert (read.status_code, write.status_code) == (403, 403), role
        assert write.headers["content-type"] == PROBLEM
    assert stored_secret(env.url, a.id) is None
    with client(env.app) as c:
        done = c.put("/api/webhooks/secret", json={"secret": SECRET}, headers=admin.headers(unsafe=True))
    assert done.status_code == 200
    assert stored_secret(env.url, a.id) is not None


def test_a_bad_secret_is_422_and_nothing_is_stored(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    owner = t.session(a.owner_email)
    with client(env.app) as c:
        answers = [
            c.put("/api/webhooks/secret", json={"secret": "short"}, headers=owner.headers(unsafe=True)),
            c.put("/api/webhooks/secret", json={"secret": "with spaces " * 3}, headers=owner.headers(unsafe=True)),
            c.put("/api/webhooks/secret", json={"secret": "x" * 257}, headers=owner.headers(unsafe=True)),
        ]
        garbled = c.put(
            "/api/webhooks/secret",
            content=b"{not json",
            headers={**owner.headers(unsafe=True), "content-type": "application/json"},
        )
    assert [r.status_code for r in answers] == [422, 422, 422]
    assert all(r.headers["content-type"] == PROBLEM for r in answers)
    assert garbled.status_code == 400
    assert stored_secret(env.url, a.id) is None


def test_rotating_the_secret_stops_the_old_one_at_once(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    creator = t.creator(a)
    set_secret(env, t, a.owner_email)
    set_secret(env, t, a.owner_email, ROTATED)
    now = env.clock.now()
    body = payment_body(creator, _fan(), now, context="post")
    with client(env.app) as c:
        old = c.post(url(a.id), content=body, headers=signed(body, now))
        new = c.post(url(a.id), content=body, headers=signed(body, now, ROTATED))
    assert old.status_code == 401
    assert new.json()["result"] == "recorded"
    assert counts(env.url, creator) == Counts(1, 1, 1)


def _fan() -> Person:
    return Person("fan-uuid-1", "fan_one", "Fan One", "fan@fans.test", datetime(2026, 1, 1, tzinfo=UTC))


def test_a_delivery_and_a_poll_of_one_payment_at_the_same_moment_leave_one_row(postgresql_database: str) -> None:
    """PostgreSQL's read committed lets two transactions miss each other's uncommitted rows: the settle lock makes
    the second wait for the first, then see its rows (SQLite's single writer does the same by itself)."""
    env = make_env(postgresql_database)
    t = Tenancy(env)
    creator = t.creator(t.agency("Alpha"))
    now = env.clock.now()
    for first in ("poll", "webhook"):
        at = now - timedelta(minutes=1 if first == "poll" else 2)
        outcome = asyncio.run(_race(postgresql_database, creator, at, first))
        assert outcome == ("already_polled" if first == "poll" else "recorded")
    assert counts(postgresql_database, creator) == Counts(2, 0, 2)  # two payments, one row each


async def _race(url: str, creator: str, at: datetime, first: str) -> str:
    fan = FanId("fan-race")
    key = provisional_key(
        event_type="tip.new", creator_id=CreatorId(creator), occurred_at=at, source="tip", gross_cents=700,
        currency="USD", fan_id=fan, reference=None,
    )  # fmt: skip
    provisional = LedgerEntry(CreatorId(creator), key, at, "tip", Money(700), Money(0), fan_id=fan)
    order = f"race-{at.timestamp()}"
    polled = LedgerEntry(CreatorId(creator), f"earning:{order}", at, "tip", Money(700), Money(560), fan_id=fan)
    engine = create_engine(url)
    cipher = FernetCipher([KEY])
    try:
        async with SqlUnitOfWork(engine, cipher) as holder, SqlUnitOfWork(engine, cipher) as other:

            async def poll(uow: SqlUnitOfWork) -> str:
                await uow.ledger.upsert([polled])
                return "polled"

            async def deliver(uow: SqlUnitOfWork) -> str:
                return (await SqlWebhookPayments(uow).record(provisional, "tip.new", at)).value

            first_step, second_step = (poll, deliver) if first == "poll" else (deliver, poll)
            done_first = await first_step(holder)  # holds the creator's settle lock until it commits
            racing = asyncio.ensure_future(second_step(other))
            finished, _ = await asyncio.wait({racing}, timeout=0.3)
            assert not finished  # it waits for the first transaction instead of missing its rows
            await holder.commit()
            done_second = await racing
            await other.commit()
    finally:
        await engine.dispose()
    return done_first if first == "webhook" else done_second


def test_a_secret_the_key_ring_cannot_read_refuses_deliveries_and_says_so(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    creator = t.creator(a)
    owner = t.session(a.owner_email)
    set_secret(env, t, a.owner_email)
    asyncio.run(_store_under_another_key(env.url, a.id))
    now = env.clock.now()
    body = payment_body(creator, _fan(), now, context="post")
    with caplog.at_level(logging.INFO), client(env.app) as c:
        refused = c.post(url(a.id), content=body, headers=signed(body, now))
        shown = c.get("/api/webhooks/secret", headers=owner.headers())
    assert refused.status_code == 401
    assert (shown.status_code, shown.json()["configured"], shown.json()["readable"]) == (200, True, False)
    assert any("does not decrypt with ONYX_CIPHER_KEYS" in r.getMessage() for r in caplog.records)
    assert counts(env.url, creator) == Counts(0, 0, 0)


async def _store_under_another_key(url: str, agency_id: str) -> None:
    engine = create_engine(url)
    try:
        other = FernetCipher([FernetCipher.generate_key()])
        async with engine.begin() as conn:
            await conn.execute(
                update(webhook_secrets)
                .where(webhook_secrets.c.agency_id == agency_id)
                .values(secret=other.encrypt(SECRET.encode()))
            )
    finally:
        await engine.dispose()
