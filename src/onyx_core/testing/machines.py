"""Stateful hypothesis machines that check Onyx's invariants against any storage you plug in.

    from onyx_core.testing.machines import stats_machine
    TestMyStats = stats_machine(lambda: my_unit_of_work_factory).TestCase

The machine drives random timelines of observations (values, failures, refunds, floors, replays, late and
out-of-order arrivals, merges that crash before their commit) through your repositories, and after every step
checks them against the pure model. A failure raises :class:`~onyx_core.testing.contracts.ContractViolation`
whose message names the rule the storage broke.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from onyx_core.ids import CreatorId
from onyx_core.ports import UnitOfWork, UnitOfWorkFactory
from onyx_core.stats import (
    Adjustment,
    EventKind,
    Floor,
    MergePolicy,
    Metric,
    MetricKind,
    MetricRecord,
    Missing,
    MissingReason,
    Observation,
    Ok,
    StatsEvent,
    encode_record,
    merge_all,
)
from onyx_core.testing._diff import event_difference
from onyx_core.testing.contracts import READ_TIMEOUT, ContractViolation
from onyx_core.testing.strategies import ALL_METRICS, EPOCH, SOURCES, values

LEAVINGS = ("an exception", "no commit", "rollback()")
"""The ways a merge leaves its unit of work without committing: a crash, a forgotten commit, a rollback."""


class _CrashError(Exception):
    """Raised inside a unit of work to leave it as a crash between the merge and its commit does."""


def _expect(condition: bool, message: str) -> None:  # noqa: FBT001 - an assertion helper
    if not condition:
        raise ContractViolation(message)


def _encoded(records: dict[str, MetricRecord]) -> dict[str, str]:
    return {m: encode_record(r) for m, r in records.items()}


def _expect_records(expected: dict[str, MetricRecord], got: dict[str, MetricRecord], rule: str) -> None:
    want, have = _encoded(expected), _encoded(got)
    if want != have:
        differ = sorted(m for m in want.keys() | have.keys() if want.get(m) != have.get(m))
        raise ContractViolation(f"{rule} (metrics that differ: {', '.join(differ)})")


def _expect_events(expected: Sequence[StatsEvent], got: Sequence[StatsEvent], rule: str) -> None:
    difference = event_difference(expected, got)
    if difference is not None:
        raise ContractViolation(f"{rule}: {difference}")


def stats_machine(
    make_uow_factory: Callable[[], UnitOfWorkFactory], policy: MergePolicy | None = None
) -> type[RuleBasedStateMachine]:
    """A machine class checking "stats never regress" on the storage ``make_uow_factory()`` returns.

    ``make_uow_factory`` is called once per run (fresh storage, or shared storage: each run uses a new creator
    id). After every step:

    - the stored records equal the pure model's, byte for byte (the storage loses and invents nothing);
    - the stored events equal the model's: every event of every committed merge, in order, equal events
      included, also those of a merge that changed no record (an observation ignored as late);
    - ``events(creator, metric)`` holds exactly that metric's events (checked by a rule);
    - a merge left without commit (by an exception, without ``commit()``, by ``rollback()``) leaves records and
      events exactly as they were; until it ends, its unit reads its own writes and no other unit sees them;
    - a failure never changes a stored value, its time, a held cliff or the adjustment credit;
    - lifetime revenue never decreases without an ``adjusted`` event in the same step;
    - a positive gauge becomes 0 only after two merged zeros at least ``confirm_after`` apart.
    """
    merge_policy = policy or MergePolicy()

    class StatsNeverRegress(RuleBasedStateMachine):
        observed = Bundle("observed")

        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.uow = make_uow_factory()
            self.creator = CreatorId(f"machine-{uuid4()}")
            self.now = EPOCH
            self.model: dict[str, MetricRecord] = {}
            self.events: list[StatsEvent] = []
            """Every event of every committed merge, in order: what the storage must hold."""
            self.zeros: dict[str, list[datetime]] = {}

        def teardown(self) -> None:
            self.loop.close()

        def _run(self, coro: Any) -> Any:
            return self.loop.run_until_complete(coro)

        async def _merge(
            self, uow: UnitOfWork, observations: list[Observation]
        ) -> tuple[dict[str, MetricRecord], tuple[StatsEvent, ...]]:
            """Read-merge-write as the use cases do."""
            records = await uow.stats.get_for_update(self.creator)
            merged, events = merge_all(records, observations, merge_policy, self.now)
            changed = {m: r for m, r in merged.items() if records.get(m) != r}
            await uow.stats.save(self.creator, changed, events, self.now)
            return merged, events

        async def _store(self, batches: list[list[Observation]]) -> tuple[StatsEvent, ...]:
            """Each batch merged and saved in turn, all in one unit of work, committed."""
            events: tuple[StatsEvent, ...] = ()
            async with self.uow() as uow:
                for observations in batches:
                    events += (await self._merge(uow, observations))[1]
                await uow.commit()
            return events

        async def _stored(self) -> tuple[dict[str, MetricRecord], list[StatsEvent]]:
            async with self.uow() as uow:
                return await uow.stats.get(self.creator), await uow.stats.events(self.creator)

        async def _crash(self, observation: Observation, leaving: str) -> None:
            """Merge in a unit that is then left without commit; check isolation while it is open."""
            try:
                async with self.uow() as uow:
                    merged, saved = await self._merge(uow, [observation])
                    records, events = await uow.stats.get(self.creator), await uow.stats.events(self.creator)
                    _expect_records(merged, records, "records read in the unit that saved them differ from the model's")
                    _expect_events(
                        [*self.events, *saved],
                        events,
                        "events read in the unit that saved them differ from the model's",
                    )
                    try:
                        records, events = await asyncio.wait_for(self._stored(), READ_TIMEOUT)
                    except TimeoutError:
                        raise ContractViolation(
                            f"a plain read in another unit waited {READ_TIMEOUT:.0f} s for uncommitted stats"
                        ) from None
                    _expect_records(self.model, records, "stats records: another unit must not see uncommitted writes")
                    _expect_events(self.events, events, "stats events: another unit must not see uncommitted writes")
                    if leaving == "rollback()":
                        await uow.rollback()
                        records, events = await uow.stats.get(self.creator), await uow.stats.events(self.creator)
                        _expect_records(
                            self.model, records, "stats records: rollback() must discard the writes before it"
                        )
                        _expect_events(
                            self.events, events, "stats events: rollback() must discard the writes before it"
                        )
                    elif leaving == "an exception":
                        raise _CrashError
            except _CrashError:
                pass
            records, events = await self._stored()
            rule = f"leaving a unit without commit ({leaving}) must discard its writes"
            _expect_records(self.model, records, f"stats records: {rule}")
            _expect_events(self.events, events, f"stats events: {rule}")

        def _apply(self, *batches: list[Observation]) -> None:
            model = self.model
            model_events: tuple[StatsEvent, ...] = ()
            for observations in batches:
                model, events = merge_all(model, observations, merge_policy, self.now)
                model_events += events
            events = self._run(self._store(list(batches)))
            _expect(
                events == model_events,
                "merging the stored records gave other events than merging the model's: the stored records are "
                f"not what was saved ({event_difference(model_events, events)})",
            )
            self._check_the_rules([o for observations in batches for o in observations])
            self.model = model
            self.events.extend(events)

        def _check_the_rules(self, observations: list[Observation]) -> None:
            """The stats rules, one observation at a time from the model (the invariants hold the storage to it)."""
            model = self.model
            for observation in observations:
                merged, events = merge_all(model, [observation], merge_policy, self.now)
                self._check_never_regress(observation, model.get(observation.metric), merged, events)
                model = merged

        def _check_never_regress(
            self,
            observation: Observation,
            before: MetricRecord | None,
            model: dict[str, MetricRecord],
            events: tuple[StatsEvent, ...],
        ) -> None:
            metric = observation.metric
            after = model[metric]
            ignored = any(e.kind in (EventKind.IGNORED_LATE, EventKind.REJECTED_FUTURE) for e in events)
            if isinstance(observation, Ok) and observation.value == 0 and not ignored:
                self.zeros.setdefault(metric, []).append(observation.observed_at)
            old = before.state if before is not None else None
            if isinstance(observation, Missing) and old is not None:
                _expect(
                    (after.value, after.observed_at, after.pending, after.state.allowance)
                    == (old.value, old.observed_at, old.pending, old.allowance),
                    f"{metric}: a failure must never change the stored value, its time, a held cliff or the credit",
                )
            if old is not None and old.value is not None and after.value is not None:
                kind = merge_policy.kind_of(metric)
                if kind is MetricKind.MONOTONE and after.value < old.value:
                    explained = (EventKind.ADJUSTED, EventKind.DECREASE_CONFIRMED)
                    _expect(
                        any(e.kind in explained for e in events),
                        f"{metric}: lifetime revenue went from {old.value} to {after.value} without a recorded refund "
                        "or a confirmed decrease",
                    )
                    floor = after.state.floor  # the newest floor merged, this observation's included
                    _expect(
                        floor is None or after.value >= floor,
                        f"{metric}: lifetime revenue went from {old.value} to {after.value}, below the floor {floor}",
                    )
                if kind is MetricKind.GAUGE and old.value > 0 and after.value == 0:
                    # Only zeros observed with or after the positive value that was shown can confirm its drop.
                    assert old.observed_at is not None
                    assert after.observed_at is not None
                    zeros = self.zeros.get(metric, [])
                    times = [t for t in zeros if old.observed_at <= t <= after.observed_at]
                    _expect(
                        len(times) >= 2 and max(times) - min(times) >= merge_policy.confirm_after,
                        f"{metric}: a positive gauge became 0 without two zeros {merge_policy.confirm_after} apart",
                    )

        @rule(seconds=st.integers(1, 900))
        def tick(self, seconds: int) -> None:
            self.now += timedelta(seconds=seconds)

        @rule(
            target=observed,
            data=st.data(),
            metric=st.sampled_from(ALL_METRICS),
            lag=st.one_of(st.just(0), st.integers(0, 600), st.integers(0, 7200)),
            source=st.sampled_from(SOURCES),
        )
        def observe(self, data: st.DataObject, metric: str, lag: int, source: str) -> Observation:
            value = data.draw(values(metric))
            observation = Ok(metric, value, self.now - timedelta(seconds=lag), source)
            self._apply([observation])
            return observation

        @rule(
            target=observed,
            data=st.data(),
            metric=st.sampled_from(ALL_METRICS),
            beyond=st.integers(1, 3600),
            copies=st.integers(1, 2),
        )
        def arrive_late(self, data: st.DataObject, metric: str, beyond: int, copies: int) -> Observation:
            """An observation from further back than the merge horizon, maybe twice in its page: ignored (with an
            event per copy) once the metric has a newer one, so it changes no record and its events are equal."""
            at = self.now - merge_policy.horizon - timedelta(seconds=beyond)
            observation = Ok(metric, data.draw(values(metric)), at, SOURCES[1])
            self._apply([observation] * copies)
            return observation

        @rule(
            target=observed,
            metric=st.sampled_from(ALL_METRICS),
            reason=st.sampled_from(list(MissingReason)),
            lag=st.integers(0, 600),
        )
        def fail(self, metric: str, reason: MissingReason, lag: int) -> Observation:
            observation = Missing(metric, reason, self.now - timedelta(seconds=lag), SOURCES[0])
            self._apply([observation])
            return observation

        @rule(
            target=observed,
            delta=st.one_of(st.integers(-2_000, 500), st.integers(-100_000, 100_000)),
            tracked=st.booleans(),
            lag=st.one_of(st.just(0), st.integers(0, 900)),
        )
        def revenue_moves(self, delta: int, tracked: bool, lag: int) -> Observation:  # noqa: FBT001
            """Fanvue's lifetime total near the one shown, a little up or down, where refunds are read or not:
            the drops that refunds, the floor and confirmation decide about."""
            shown = self.model.get(Metric.REVENUE_TOTAL)
            current = shown.value if shown is not None and shown.value is not None else 0
            value = max(0, current + delta)
            at = self.now - timedelta(seconds=lag)
            observation = Ok(Metric.REVENUE_TOTAL, value, at, SOURCES[0], refunds_tracked=tracked)
            self._apply([observation])
            return observation

        @rule(target=observed, amount=st.integers(1, 100_000), ago=st.one_of(st.just(0), st.integers(0, 86_400)))
        def refund(self, amount: int, ago: int) -> Observation:
            """A refund recorded now, that happened now or up to a day ago (a backfill finds old ones)."""
            occurred = self.now - timedelta(seconds=ago)
            reference = f"refund:{uuid4().hex[:8]}"
            observation = Adjustment(Metric.REVENUE_TOTAL, amount, self.now, reference, "refund", occurred)
            self._apply([observation])
            return observation

        @rule(target=observed, value=values(Metric.REVENUE_TOTAL))
        def ledger_floor(self, value: int) -> Observation:
            observation = Floor(Metric.REVENUE_TOTAL, value, self.now, "ledger")
            self._apply([observation])
            return observation

        @rule(observation=observed)
        def replay(self, observation: Observation) -> None:
            self._apply([observation])

        @rule(observations=st.lists(observed, min_size=1, max_size=3))
        def replay_a_page(self, observations: list[Observation]) -> None:
            """Earlier observations merged and saved together, the first one twice: a re-fetched page that repeats
            a row (an observation ignored as late gives one event per copy: equal events in one save)."""
            self._apply([*observations, observations[0]])

        @rule(first=observed, second=observed)
        def two_merges_in_one_unit(self, first: Observation, second: Observation) -> None:
            """Two read-merge-writes in one unit, as a ledger page merges its refunds and a refresh follows."""
            self._apply([first], [second])

        @rule(
            target=observed,
            data=st.data(),
            leaving=st.sampled_from(LEAVINGS),
            kind=st.sampled_from(["value", "failure", "refund", "floor"]),
            metric=st.sampled_from(ALL_METRICS),
        )
        def crash_before_commit(self, data: st.DataObject, leaving: str, kind: str, metric: str) -> Observation:
            """A merge whose unit ends without a commit; the observation may be replayed later, as a rerun."""
            observation: Observation
            if kind == "value":
                observation = Ok(metric, data.draw(values(metric)), self.now, SOURCES[0])
            elif kind == "failure":
                observation = Missing(metric, data.draw(st.sampled_from(list(MissingReason))), self.now, SOURCES[0])
            elif kind == "refund":
                amount = data.draw(st.integers(1, 100_000))
                observation = Adjustment(Metric.REVENUE_TOTAL, amount, self.now, f"refund:{uuid4().hex[:8]}", "refund")
            else:
                observation = Floor(Metric.REVENUE_TOTAL, data.draw(values(Metric.REVENUE_TOTAL)), self.now, "ledger")
            self._run(self._crash(observation, leaving))
            return observation

        @rule(metric=st.sampled_from(ALL_METRICS))
        def read_one_metrics_events(self, metric: str) -> None:
            async def read() -> list[StatsEvent]:
                async with self.uow() as uow:
                    return await uow.stats.events(self.creator, metric)

            expected = [e for e in self.events if e.metric == metric]
            _expect_events(
                expected, self._run(read()), "events(creator, metric) must hold exactly that metric's events"
            )

        @invariant()
        def storage_matches_the_model(self) -> None:
            records, events = self._run(self._stored())
            _expect_records(self.model, records, "stored records differ from the model's")
            _expect_events(self.events, events, "stored events differ from the model's")

    return StatsNeverRegress
