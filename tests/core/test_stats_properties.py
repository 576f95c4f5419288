"""The stats rules as properties (requirements S1, S2, S3): hundreds of generated timelines each."""

from __future__ import annotations

from collections import defaultdict
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


@settings(max_examples=300)
@given(st.lists(observations(times=instants(span=timedelta(hours=3))), max_size=60))
def test_revenue_never_decreases_without_an_adjustment_nor_falls_below_the_floor(batch):
    records: dict[str, MetricRecord] = {}
    floor_seen = 0
    adjustments: set[Adjustment] = set()
    for obs in batch:
        before = records.get(obs.metric, MetricRecord(obs.metric)).value
        result = merge(records.get(obs.metric), obs, POLICY, NOW)
        records[obs.metric] = result.record
        if obs.metric != Metric.REVENUE_TOTAL:
            continue
        after = result.record.value
        if before is not None and after is not None and after < before:
            assert any(e.kind is EventKind.ADJUSTED for e in result.events), (before, after, result.events)
        if was_merged(result):
            if isinstance(obs, Floor):
                floor_seen = max(floor_seen, obs.value)
            if isinstance(obs, Adjustment):
                adjustments.add(obs)
        if floor_seen:
            # Recorded refunds lower the ledger too, so they may take the value below an older floor.
            assert after is not None
            assert after >= floor_seen - sum(a.amount for a in adjustments)


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
