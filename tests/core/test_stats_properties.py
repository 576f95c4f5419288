"""The stats rules as properties (requirements S1, S2, S3): hundreds of generated timelines each."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from onyx_core.stats import (
    Adjustment,
    EventKind,
    Floor,
    MergePolicy,
    Metric,
    MetricKind,
    MetricRecord,
    MetricState,
    Missing,
    Observation,
    Ok,
    decode_record,
    encode_record,
    fold,
    merge,
    merge_all,
    sort_key,
)
from onyx_core.testing.strategies import EPOCH, GAUGES, instants, observation_batches, observations

POLICY = MergePolicy()
NOW = EPOCH + timedelta(days=1)
WITHIN_HORIZON = observation_batches(span=POLICY.horizon - timedelta(seconds=1))


def apply_all(batch: list[Observation]) -> dict[str, MetricRecord]:
    records, _ = merge_all({}, batch, POLICY, NOW)
    return records


def encoded(records: dict[str, MetricRecord]) -> dict[str, str]:
    return {metric: encode_record(record) for metric, record in records.items()}


@settings(max_examples=600)
@given(st.lists(observations(times=instants(span=timedelta(hours=3))), max_size=60))
def test_s1_a_non_ok_observation_never_changes_a_value(batch):
    # S1: over >= 500 timelines of interleaved ok/empty/error/timeout/partial observations, arriving in
    # arbitrary order, no Missing changes any stored value, observed_at, pending cliff or allowance.
    records: dict[str, MetricRecord] = {}
    for obs in batch:
        before = records.get(obs.metric, MetricRecord(obs.metric)).state
        after = merge(records.get(obs.metric), obs, POLICY, NOW).record
        records[obs.metric] = after
        if isinstance(obs, Missing):
            assert after.state.value == before.value
            assert after.state.observed_at == before.observed_at
            assert after.state.source == before.source
            assert after.state.pending == before.pending
            assert after.state.allowance == before.allowance


@settings(max_examples=300)
@given(WITHIN_HORIZON, st.randoms(use_true_random=False))
def test_s3_merge_is_idempotent_and_order_insensitive(batch, rnd):
    # S3: the same batch applied twice, reversed, or shuffled gives byte-identical records.
    once = apply_all(batch)
    shuffled = list(batch)
    rnd.shuffle(shuffled)
    assert encoded(apply_all(batch + batch)) == encoded(once)
    assert encoded(apply_all(list(reversed(batch)))) == encoded(once)
    assert encoded(apply_all(shuffled)) == encoded(once)


@settings(max_examples=300)
@given(WITHIN_HORIZON, st.randoms(use_true_random=False))
def test_any_arrival_order_equals_the_time_ordered_fold(batch, rnd):
    # The model: fold every distinct observation in time order from nothing. The merge must agree with it.
    rnd.shuffle(batch)
    records = apply_all(batch)
    by_metric: dict[str, set[Observation]] = defaultdict(set)
    for obs in batch:
        by_metric[obs.metric].add(obs)
    for metric, observed in by_metric.items():
        expected, _ = fold(MetricState(), tuple(sorted(observed, key=sort_key)), POLICY)
        assert records[metric].state == expected


def was_merged(result) -> bool:
    return not any(e.kind in (EventKind.IGNORED_LATE, EventKind.REJECTED_FUTURE) for e in result.events)


REVENUE_TIMELINES = st.lists(
    observations(metrics=(Metric.REVENUE_TOTAL,), times=instants(span=timedelta(hours=3))), max_size=60
)


@settings(max_examples=500)
@given(REVENUE_TIMELINES)
def test_revenue_is_never_shown_below_the_newest_ledger_floor(batch):
    # Any arrival order: after every merge, the value is at least the newest (in time) floor merged so far.
    record: MetricRecord | None = None
    floors: list[Floor] = []
    for obs in batch:
        result = merge(record, obs, POLICY, NOW)
        record = result.record
        if isinstance(obs, Floor) and was_merged(result):
            floors.append(obs)
        if floors:
            # Every merged observation is folded in time order, so the newest floor is the one that binds.
            newest = max(floors, key=sort_key)
            assert record.value is not None
            assert record.value >= newest.value, (record.value, newest, record.state)


@settings(max_examples=500)
@given(REVENUE_TIMELINES)
def test_revenue_goes_down_only_by_refunds_newer_than_the_value_or_a_confirmed_untracked_decrease(batch):
    # In time order (the order every record is folded in), with a tiny model of what each applied total reflects:
    # a refund explains a decrease only if it happened after the total the value came from was observed, and
    # each refund explains at most one decrease; a decrease without one needs two untracked totals below the
    # value, at least confirm_after apart.
    record: MetricRecord | None = None
    reflects: object = None  # when the total behind the value was observed
    unspent: list[Adjustment] = []  # refunds newer than that total
    below: list[Ok] = []  # untracked totals below the value since it was set
    for obs in sorted(set(batch), key=sort_key):
        before = record.value if record is not None else None
        result = merge(record, obs, POLICY, NOW)
        record = result.record
        kinds = {e.kind for e in result.events}
        if isinstance(obs, Adjustment) and (reflects is None or obs.occurred > reflects):
            unspent.append(obs)
        if isinstance(obs, Ok) and not obs.refunds_tracked and before is not None and obs.value < before:
            below.append(obs)
        after = record.value
        if before is not None and after is not None and after < before:
            if EventKind.ADJUSTED in kinds:
                assert before - obs.value <= sum(a.amount for a in unspent), (before, obs, unspent)
                unspent = spend(unspent, before - obs.value)
            else:
                assert EventKind.DECREASE_CONFIRMED in kinds, result.events
                assert not obs.refunds_tracked
                assert max(o.observed_at for o in below) - min(o.observed_at for o in below) >= POLICY.confirm_after
        if isinstance(obs, Ok) and record.state.observed_at == obs.observed_at and record.source == obs.source:
            reflects = obs.observed_at - POLICY.reflection_lag
            unspent = [a for a in unspent if a.occurred > reflects]
            below = []
        elif isinstance(obs, Ok) and before is not None and obs.value >= before:
            below = []


def spend(refunds: list[Adjustment], amount: int) -> list[Adjustment]:
    """What is left of ``refunds`` after ``amount`` of them explained a decrease (oldest first)."""
    left = []
    for refund in sorted(refunds, key=sort_key):
        used = min(amount, refund.amount)
        amount -= used
        if refund.amount > used:
            left.append(replace(refund, amount=refund.amount - used))
    return left


@settings(max_examples=500)
@given(REVENUE_TIMELINES, st.randoms(use_true_random=False))
def test_refunds_older_than_the_first_total_never_lower_revenue(batch, rnd):
    # The first backfill: every refund it records happened before the total that was already read. Whatever
    # order the rest arrives in, no recorded refund may take the value below a total Fanvue already gave.
    totals = [o for o in batch if isinstance(o, Ok) and o.refunds_tracked]
    if not totals:
        return
    first = min(o.observed_at for o in totals)
    history = [a for a in batch if isinstance(a, Adjustment) and a.occurred < first - POLICY.reflection_lag]
    rest = [o for o in batch if not isinstance(o, Adjustment | Floor) and (not isinstance(o, Ok) or o.refunds_tracked)]
    timeline = rest + history
    rnd.shuffle(timeline)
    record: MetricRecord | None = None
    highest = 0
    for obs in timeline:
        result = merge(record, obs, POLICY, NOW)
        record = result.record
        assert EventKind.ADJUSTED not in {e.kind for e in result.events}
        if record.value is not None:
            assert record.value >= highest
            highest = record.value


@settings(max_examples=500)
@given(st.lists(observations(metrics=GAUGES, times=instants(span=timedelta(hours=3))), max_size=60))
def test_s2_a_positive_gauge_reaches_zero_only_after_two_zeros_ten_minutes_apart(batch):
    records: dict[str, MetricRecord] = {}
    zeros_merged: dict[str, list[Ok]] = defaultdict(list)
    for obs in batch:
        before = records.get(obs.metric, MetricRecord(obs.metric))
        result = merge(records.get(obs.metric), obs, POLICY, NOW)
        records[obs.metric] = result.record
        if isinstance(obs, Ok) and obs.value == 0 and was_merged(result):
            zeros_merged[obs.metric].append(obs)
        after = result.record
        if before.value and after.value == 0:
            # Only zeros observed after the positive value that was shown (or at the same instant, sorted after
            # it) can confirm its drop.
            assert before.observed_at is not None
            assert after.observed_at is not None
            times = [
                z.observed_at
                for z in zeros_merged[obs.metric]
                if before.observed_at <= z.observed_at <= after.observed_at
            ]
            assert len(times) >= 2
            assert max(times) - min(times) >= POLICY.confirm_after


@settings(max_examples=200)
@given(st.lists(observations(times=instants(span=timedelta(hours=3))), max_size=40))
def test_records_survive_their_storage_encoding(batch):
    for record in apply_all(batch).values():
        assert decode_record(encode_record(record)) == record


def test_the_default_kinds_are_as_documented():
    assert POLICY.kind_of(Metric.REVENUE_TOTAL) is MetricKind.MONOTONE
    assert {POLICY.kind_of(m) for m in GAUGES} == {MetricKind.GAUGE}
    assert POLICY.kind_of("custom_metric") is MetricKind.GAUGE
