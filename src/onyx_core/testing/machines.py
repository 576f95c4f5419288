"""Stateful hypothesis machines that check Onyx's invariants against any storage you plug in.

    from onyx_core.testing.machines import stats_machine
    TestMyStats = stats_machine(lambda: my_unit_of_work_factory).TestCase

The machine drives random timelines of observations (values, failures, refunds, floors, replays, late and
out-of-order arrivals) through your repositories, and after every step checks them against the pure model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from onyx_core.ids import CreatorId
from onyx_core.ports import UnitOfWorkFactory
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
from onyx_core.testing.strategies import ALL_METRICS, EPOCH, SOURCES, values


def stats_machine(
    make_uow_factory: Callable[[], UnitOfWorkFactory], policy: MergePolicy | None = None
) -> type[RuleBasedStateMachine]:
    """A machine class checking "stats never regress" on the storage ``make_uow_factory()`` returns.

    ``make_uow_factory`` is called once per run (fresh storage, or shared storage: each run uses a new creator
    id). Invariants, after every step:

    - the stored records equal the pure model's, byte for byte (the storage loses and invents nothing);
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
            self.zeros: dict[str, list[datetime]] = {}

        def teardown(self) -> None:
            self.loop.close()

        def _run(self, coro: Any) -> Any:
            return self.loop.run_until_complete(coro)

        async def _store(self, observation: Observation) -> tuple[StatsEvent, ...]:
            async with self.uow() as uow:
                records = await uow.stats.get_for_update(self.creator)
                merged, events = merge_all(records, [observation], merge_policy, self.now)
                changed = {m: r for m, r in merged.items() if records.get(m) != r}
                await uow.stats.save(self.creator, changed, events, self.now)
                await uow.commit()
            return events

        async def _load(self) -> dict[str, MetricRecord]:
            async with self.uow() as uow:
                return await uow.stats.get(self.creator)

        def _apply(self, observation: Observation) -> Observation:
            before = self.model.get(observation.metric)
            model, model_events = merge_all(self.model, [observation], merge_policy, self.now)
            events = self._run(self._store(observation))
            assert events == model_events, (events, model_events)
            after = model[observation.metric]
            ignored = any(e.kind in (EventKind.IGNORED_LATE, EventKind.REJECTED_FUTURE) for e in events)
            if isinstance(observation, Ok) and observation.value == 0 and not ignored:
                self.zeros.setdefault(observation.metric, []).append(observation.observed_at)
            old = before.state if before is not None else None
            if isinstance(observation, Missing) and old is not None:
                assert (after.value, after.observed_at, after.pending, after.state.allowance) == (
                    old.value,
                    old.observed_at,
                    old.pending,
                    old.allowance,
                )
            if old is not None and old.value is not None and after.value is not None:
                kind = merge_policy.kind_of(observation.metric)
                if kind is MetricKind.MONOTONE and after.value < old.value:
                    assert any(e.kind is EventKind.ADJUSTED for e in events), events
                if kind is MetricKind.GAUGE and old.value > 0 and after.value == 0:
                    # Only zeros observed with or after the positive value that was shown can confirm its drop.
                    assert old.observed_at is not None
                    assert after.observed_at is not None
                    zeros = self.zeros.get(observation.metric, [])
                    times = [t for t in zeros if old.observed_at <= t <= after.observed_at]
                    assert len(times) >= 2
                    assert max(times) - min(times) >= merge_policy.confirm_after
            self.model = model
            return observation

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
            return self._apply(Ok(metric, value, self.now - timedelta(seconds=lag), source))

        @rule(
            target=observed,
            metric=st.sampled_from(ALL_METRICS),
            reason=st.sampled_from(list(MissingReason)),
            lag=st.integers(0, 600),
        )
        def fail(self, metric: str, reason: MissingReason, lag: int) -> Observation:
            return self._apply(Missing(metric, reason, self.now - timedelta(seconds=lag), SOURCES[0]))

        @rule(target=observed, amount=st.integers(1, 100_000))
        def refund(self, amount: int) -> Observation:
            key = f"refund:{uuid4().hex[:8]}"
            return self._apply(Adjustment(Metric.REVENUE_TOTAL, amount, self.now, key, "refund"))

        @rule(target=observed, value=values(Metric.REVENUE_TOTAL))
        def ledger_floor(self, value: int) -> Observation:
            return self._apply(Floor(Metric.REVENUE_TOTAL, value, self.now, "ledger"))

        @rule(observation=observed)
        def replay(self, observation: Observation) -> None:
            self._apply(observation)

        @invariant()
        def storage_matches_the_model(self) -> None:
            stored = self._run(self._load())
            assert {m: encode_record(r) for m, r in stored.items()} == {
                m: encode_record(r) for m, r in self.model.items()
            }

    return StatsNeverRegress
