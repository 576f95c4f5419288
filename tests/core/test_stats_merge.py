"""Hand-written cases of the stats merge rules (docs/stats.md walks through the same ones)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from onyx_core.errors import DomainValueError, NaiveDatetimeError
from onyx_core.stats import (
    Adjustment,
    EventKind,
    Floor,
    MergePolicy,
    Metric,
    MetricRecord,
    Missing,
    MissingReason,
    Ok,
    decode_record,
    merge,
    merge_all,
)

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
POLICY = MergePolicy()
SUBS = Metric.SUBSCRIBERS
REV = Metric.REVENUE_TOTAL


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def run(*observations: Ok | Missing | Adjustment | Floor, policy: MergePolicy = POLICY) -> tuple[MetricRecord, list]:
    record: MetricRecord | None = None
    events = []
    for obs in observations:
        result = merge(record, obs, policy, now=at(24 * 60))
        record, events = result.record, [*events, *result.events]
    assert record is not None
    return record, events


def kinds(events: list) -> list[EventKind]:
    return [e.kind for e in events]


def test_first_value_is_applied():
    record, events = run(Ok(SUBS, 120, at(0), "api"))
    assert (record.value, record.observed_at, record.source) == (120, at(0), "api")
    assert kinds(events) == [EventKind.APPLIED]


@pytest.mark.parametrize("reason", list(MissingReason))
def test_a_failure_keeps_the_value_and_marks_it_stale(reason):
    record, events = run(Ok(SUBS, 120, at(0), "api"), Missing(SUBS, reason, at(1), "api", "boom"))
    assert (record.value, record.observed_at) == (120, at(0))
    assert record.stale_since == at(1)
    assert record.stale_reason is reason
    assert kinds(events) == [EventKind.APPLIED, EventKind.MARKED_STALE]


def test_stale_since_stays_at_the_first_failure_and_a_success_clears_it():
    record, events = run(
        Ok(SUBS, 120, at(0), "api"),
        Missing(SUBS, MissingReason.TIMEOUT, at(1), "api"),
        Missing(SUBS, MissingReason.ERROR, at(2), "api"),
    )
    assert (record.stale_since, record.stale_reason) == (at(1), MissingReason.ERROR)
    record, events = run(
        Ok(SUBS, 120, at(0), "api"), Missing(SUBS, MissingReason.TIMEOUT, at(1), "api"), Ok(SUBS, 121, at(3), "api")
    )
    assert not record.is_stale
    assert record.value == 121
    assert EventKind.RECOVERED in kinds(events)


def test_a_failure_before_anything_is_known_leaves_no_value():
    record, _ = run(Missing(SUBS, MissingReason.EMPTY, at(0), "api"))
    assert record.value is None
    assert record.observed_at is None
    assert record.is_stale


def test_an_older_observation_loses_to_the_stored_newer_one():
    record, _ = run(Ok(SUBS, 130, at(5), "api"), Ok(SUBS, 120, at(1), "api"))
    assert (record.value, record.observed_at) == (130, at(5))


def test_a_late_observation_counts_as_if_it_had_arrived_on_time():
    # Documented in docs/stats.md: the two orders of arrival must agree, and in time order the 100 is a cliff.
    late, _ = run(Ok(SUBS, 100, at(10), "api"), Ok(SUBS, 500, at(5), "slow-writer"))
    in_time, _ = run(Ok(SUBS, 500, at(5), "slow-writer"), Ok(SUBS, 100, at(10), "api"))
    assert late == in_time
    assert (late.value, late.observed_at) == (500, at(5))
    assert late.pending is not None
    assert (late.pending.value, late.pending.first_observed_at) == (100, at(10))
    confirmed, _ = run(Ok(SUBS, 100, at(10), "api"), Ok(SUBS, 500, at(5), "slow"), Ok(SUBS, 100, at(20), "api"))
    assert (confirmed.value, confirmed.observed_at) == (100, at(20))
    # A late revenue total above the newer one makes the newer one a regression, whatever the arrival order.
    rev_late, _ = run(Ok(REV, 100, at(10), "api"), Ok(REV, 200, at(5), "slow"))
    rev_in_time, _ = run(Ok(REV, 200, at(5), "slow"), Ok(REV, 100, at(10), "api"))
    assert rev_late == rev_in_time
    assert rev_late.value == 200


def test_a_late_ordinary_value_changes_nothing_visible():
    record, _ = run(Ok(SUBS, 100, at(10), "api"), Ok(SUBS, 180, at(5), "slow"))
    assert (record.value, record.observed_at, record.pending) == (100, at(10), None)


def test_a_drop_to_zero_is_held_until_confirmed_ten_minutes_later():
    # S2: one zero leaves the old value; two zeros 10 minutes apart apply it.
    record, events = run(Ok(SUBS, 120, at(0), "api"), Ok(SUBS, 0, at(1), "api"))
    assert record.value == 120
    assert record.pending is not None
    assert record.pending.value == 0
    assert kinds(events)[-1] is EventKind.CLIFF_HELD

    record, _ = run(Ok(SUBS, 120, at(0), "api"), Ok(SUBS, 0, at(1), "api"), Ok(SUBS, 0, at(10.99), "api"))
    assert record.value == 120, "9 min 59 s later is not enough"

    record, events = run(Ok(SUBS, 120, at(0), "api"), Ok(SUBS, 0, at(1), "api"), Ok(SUBS, 0, at(11), "api"))
    assert (record.value, record.observed_at, record.pending) == (0, at(11), None)
    assert kinds(events)[-1] is EventKind.CLIFF_CONFIRMED


def test_a_drop_of_more_than_half_is_a_cliff_and_half_is_not():
    record, _ = run(Ok(SUBS, 100, at(0), "api"), Ok(SUBS, 49, at(1), "api"))
    assert record.value == 100
    record, _ = run(Ok(SUBS, 100, at(0), "api"), Ok(SUBS, 50, at(1), "api"))
    assert record.value == 50


def test_a_held_cliff_is_dismissed_by_an_ordinary_value():
    record, events = run(Ok(SUBS, 100, at(0), "api"), Ok(SUBS, 0, at(1), "api"), Ok(SUBS, 98, at(2), "api"))
    assert (record.value, record.pending) == (98, None)
    assert EventKind.CLIFF_DISMISSED in kinds(events)


def test_a_late_confirmation_inside_the_horizon_is_as_good_as_a_timely_one():
    # The second zero arrives first; the earlier zero arrives afterwards: same outcome as in time order.
    in_order, _ = run(Ok(SUBS, 100, at(0), "api"), Ok(SUBS, 0, at(1), "api"), Ok(SUBS, 0, at(12), "api"))
    late, _ = run(Ok(SUBS, 100, at(0), "api"), Ok(SUBS, 0, at(12), "api"), Ok(SUBS, 0, at(1), "api"))
    assert in_order == late
    assert late.value == 0


def test_policy_knobs_change_the_cliff():
    strict = MergePolicy(cliff_drop_percent=10, confirm_after=timedelta(minutes=30))
    record, _ = run(Ok(SUBS, 100, at(0), "api"), Ok(SUBS, 85, at(1), "api"), policy=strict)
    assert record.value == 100
    record, _ = run(Ok(SUBS, 100, at(0), "api"), Ok(SUBS, 85, at(1), "api"), Ok(SUBS, 85, at(20), "api"), policy=strict)
    assert record.value == 100
    lenient = MergePolicy(cliff_to_zero=False, cliff_drop_percent=99)
    record, _ = run(Ok(SUBS, 100, at(0), "api"), Ok(SUBS, 1, at(1), "api"), policy=lenient)
    assert record.value == 1


def test_revenue_never_decreases_without_an_adjustment():
    record, events = run(Ok(REV, 10_000, at(0), "api"), Ok(REV, 9_000, at(1), "api"))
    assert (record.value, record.observed_at) == (10_000, at(0))
    assert kinds(events)[-1] is EventKind.REGRESSION_REJECTED


def test_revenue_goes_down_by_at_most_the_recorded_adjustments():
    record, events = run(
        Ok(REV, 10_000, at(0), "api"),
        Adjustment(REV, 1_500, at(1), "refund:FV-1", "refund"),
        Ok(REV, 9_000, at(2), "api"),
    )
    assert record.value == 9_000
    assert record.state.allowance == 500
    assert kinds(events)[-1] is EventKind.ADJUSTED
    # A total read more than reflection_lag (10 min) after the refund reflects all of it: the rest is spent too.
    record, events = run(
        Ok(REV, 10_000, at(0), "api"),
        Adjustment(REV, 1_500, at(1), "refund:FV-1", "refund"),
        Ok(REV, 9_000, at(2), "api"),
        Ok(REV, 9_100, at(12), "api"),
        Ok(REV, 8_700, at(14), "api"),
    )
    assert record.state.allowance == 0
    assert (record.value, kinds(events)[-1]) == (9_100, EventKind.REGRESSION_REJECTED)
    record, events = run(
        Ok(REV, 10_000, at(0), "api"),
        Adjustment(REV, 500, at(1), "refund:FV-1", "refund"),
        Ok(REV, 9_000, at(2), "api"),
    )
    assert record.value == 10_000
    assert kinds(events)[-1] is EventKind.REGRESSION_REJECTED


def test_historical_refunds_found_by_a_backfill_are_already_in_the_total():
    # Fanvue's total read at 12:00 had already subtracted every refund of the creator's history. The first ledger
    # backfill records them at 12:05: they explain no decrease, so a once-low total changes nothing.
    history = [Adjustment(REV, 4_000, at(5), f"refund:{n}", "refund", T0 - timedelta(days=30 + n)) for n in range(3)]
    record, events = run(
        Ok(REV, 879_006, at(0), "api"),
        *history,
        Floor(REV, 879_006, at(5), "ledger"),
        Ok(REV, 868_044, at(7), "api"),
        Ok(REV, 879_006, at(9), "api"),
    )
    assert kinds(events).count(EventKind.ADJUSTMENT_REFLECTED) == 3
    assert record.state.allowance == 0
    assert EventKind.REGRESSION_REJECTED in kinds(events)
    assert EventKind.ADJUSTED not in kinds(events)
    assert record.value == 879_006


def test_a_refund_newer_than_the_total_explains_a_decrease_once():
    record, events = run(
        Ok(REV, 10_000, at(0), "api"),
        Adjustment(REV, 1_000, at(6), "refund:FV-1", "refund", at(3)),
        Ok(REV, 10_200, at(20), "api"),  # new earnings since: this total, 17 minutes on, reflects the refund
        Ok(REV, 9_200, at(22), "api"),
    )
    assert kinds(events)[-1] is EventKind.REGRESSION_REJECTED
    assert record.value == 10_200
    record, events = run(
        Ok(REV, 10_000, at(0), "api"),
        Adjustment(REV, 1_000, at(6), "refund:FV-1", "refund", at(3)),
        Ok(REV, 9_000, at(7), "api"),
    )
    assert (record.value, kinds(events)[-1]) == (9_000, EventKind.ADJUSTED)


def test_a_refund_recorded_before_the_total_that_lowers_the_value_explains_it():
    # The ledger sync recorded the refund at 12:06; the stats refresh at 12:04 had already seen the lower total
    # and arrives late: in time order the refund (it happened at 12:03) still explains it.
    record, events = run(
        Ok(REV, 10_000, at(0), "api"),
        Ok(REV, 9_000, at(4), "api"),
        Adjustment(REV, 1_000, at(6), "refund:FV-1", "refund", at(3)),
        Ok(REV, 9_000, at(8), "api"),
    )
    assert (record.value, kinds(events)[-1]) == (9_000, EventKind.ADJUSTED)


def test_a_decrease_never_goes_below_the_ledger_floor():
    record, events = run(
        Ok(REV, 10_000, at(0), "api"),
        Adjustment(REV, 2_000, at(2), "refund:FV-1", "refund", at(1)),
        Floor(REV, 9_500, at(2), "ledger"),
        Ok(REV, 8_000, at(3), "api"),
    )
    assert record.value == 9_500
    assert events[-1].kind is EventKind.ADJUSTED
    assert (events[-1].old_value, events[-1].new_value) == (10_000, 9_500)
    assert "below the ledger floor" in events[-1].detail


def test_where_refunds_are_not_tracked_a_decrease_is_held_until_confirmed_ten_minutes_later():
    def blind(value: int, minutes: float) -> Ok:
        return Ok(REV, value, at(minutes), "fanvue:agency", refunds_tracked=False)

    record, events = run(blind(10_000, 0), blind(9_000, 1))
    assert (record.value, record.pending.value, kinds(events)[-1]) == (10_000, 9_000, EventKind.DECREASE_HELD)
    record, events = run(blind(10_000, 0), blind(9_000, 1), blind(9_000, 10.99))
    assert record.value == 10_000
    record, events = run(blind(10_000, 0), blind(9_000, 1), blind(8_990, 11))
    assert (record.value, record.pending, kinds(events)[-1]) == (8_990, None, EventKind.DECREASE_CONFIRMED)
    record, events = run(blind(10_000, 0), blind(9_000, 1), blind(10_000, 5), blind(9_000, 11))
    assert EventKind.DECREASE_DISMISSED in kinds(events)
    assert (record.value, kinds(events)[-1]) == (10_000, EventKind.DECREASE_HELD)


def test_where_refunds_are_tracked_a_repeated_decrease_is_still_refused():
    record, events = run(Ok(REV, 10_000, at(0), "api"), Ok(REV, 9_000, at(1), "api"), Ok(REV, 9_000, at(30), "api"))
    assert record.value == 10_000
    assert kinds(events).count(EventKind.REGRESSION_REJECTED) == 2


def test_a_format_1_record_keeps_its_allowance_until_a_total_reflects_it():
    state = (
        '{"allowance":700,"observed_at":"2026-05-01T12:00:00+00:00","pending":null,"source":"api",'
        '"stale_reason":null,"stale_since":null,"value":10000}'
    )
    stored = (
        f'{{"base":{state},"format":1,"latest_at":"2026-05-01T12:00:00+00:00","metric":"revenue_total",'
        f'"state":{state},"window":[]}}'
    )
    record = decode_record(stored)
    assert (record.value, record.state.allowance) == (10_000, 700)
    lowered = merge(record, Ok(REV, 9_300, at(45), "api"), POLICY, now=at(45)).record
    assert (lowered.value, lowered.state.allowance) == (9_300, 0)


def test_revenue_is_never_below_the_ledger_floor():
    record, events = run(Ok(REV, 10_000, at(0), "api"), Floor(REV, 12_500, at(1), "ledger"))
    assert (record.value, record.source) == (12_500, "ledger")
    assert kinds(events)[-1] is EventKind.FLOOR_RAISED
    record, events = run(Ok(REV, 10_000, at(0), "api"), Floor(REV, 8_000, at(1), "ledger"))
    assert record.value == 10_000
    assert kinds(events) == [EventKind.APPLIED]


def test_revenue_drop_to_zero_is_a_regression_not_a_cliff():
    record, events = run(Ok(REV, 10_000, at(0), "api"), Ok(REV, 0, at(1), "api"), Ok(REV, 0, at(20), "api"))
    assert record.value == 10_000
    assert kinds(events).count(EventKind.REGRESSION_REJECTED) == 2


def test_observations_beyond_the_horizon_are_ignored_and_reported():
    record, events = run(Ok(SUBS, 100, at(60), "api"), Ok(SUBS, 90, at(10), "api"))
    assert record.value == 100
    assert kinds(events)[-1] is EventKind.IGNORED_LATE


def test_observations_from_the_future_are_refused():
    result = merge(None, Ok(SUBS, 5, at(10), "api"), POLICY, now=at(0))
    assert result.record.value is None
    assert [e.kind for e in result.events] == [EventKind.REJECTED_FUTURE]


def test_duplicates_change_nothing_and_report_nothing():
    first = merge(None, Ok(SUBS, 5, at(0), "api"), POLICY, now=at(1))
    again = merge(first.record, Ok(SUBS, 5, at(0), "api"), POLICY, now=at(1))
    assert again.record == first.record
    assert again.events == ()


def test_merge_all_keeps_metrics_apart():
    records, events = merge_all(
        {},
        [Ok(SUBS, 10, at(0), "api"), Ok(REV, 500, at(0), "api"), Missing(SUBS, MissingReason.ERROR, at(1), "api")],
        POLICY,
        now=at(2),
    )
    assert records[SUBS].value == 10
    assert records[SUBS].is_stale
    assert records[REV].value == 500
    assert not records[REV].is_stale
    assert len(events) == 3


def test_inputs_are_validated():
    with pytest.raises(NaiveDatetimeError):
        Ok(SUBS, 1, datetime(2026, 1, 1), "api")
    with pytest.raises(DomainValueError):
        Ok(SUBS, -1, T0, "api")
    with pytest.raises(DomainValueError):
        Ok(SUBS, 1.5, T0, "api")  # type: ignore[arg-type]
    with pytest.raises(DomainValueError):
        Adjustment(REV, 0, T0, "refund:x", "refund")
    with pytest.raises(DomainValueError):
        merge(MetricRecord(REV), Ok(SUBS, 1, T0, "api"), POLICY, T0)
    with pytest.raises(DomainValueError):
        MergePolicy(horizon=timedelta(minutes=5))
    with pytest.raises(NaiveDatetimeError):
        merge(None, Ok(SUBS, 1, T0, "api"), POLICY, datetime(2026, 1, 1))


def test_a_deeper_drop_while_held_restarts_the_confirmation_clock():
    steps = [Ok(SUBS, 100, at(0), "api"), Ok(SUBS, 40, at(1), "api"), Ok(SUBS, 0, at(11), "api")]
    record, events = run(*steps)
    assert record.value == 100, "a halving then a zero is not two zeros"
    assert record.pending is not None
    assert record.pending.first_observed_at == at(11)
    record, events = run(*steps, Ok(SUBS, 0, at(21), "api"))
    assert record.value == 0
    assert kinds(events)[-1] is EventKind.CLIFF_CONFIRMED


def test_a_held_drop_confirmed_by_a_slightly_higher_value_applies_that_value():
    record, _ = run(Ok(SUBS, 100, at(0), "api"), Ok(SUBS, 10, at(1), "api"), Ok(SUBS, 12, at(11), "api"))
    assert (record.value, record.pending) == (12, None)


def test_a_floor_is_never_mistaken_for_a_value():
    assert Ok(REV, 5, T0, "x") != Floor(REV, 5, T0, "x")
    assert not isinstance(Floor(REV, 5, T0, "x"), Ok)
    record, _ = run(Floor(REV, 5, at(0), "ledger"), Ok(REV, 5, at(0), "ledger"))
    assert len(record.window) == 2


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"format": 2}',
        '{"format": 1}',
        '{"format": 1, "metric": "likes", "state": {}, "base": {}, "window": [{"t": "ok"}]}',
        '{"format": 1, "metric": "likes", "state": {"value": 1.5}, "base": {}, "window": []}',
        '{"format": 1, "metric": "likes", "state": {}, "base": {}, '
        '"window": [{"t": "??", "at": "2026-01-01T00:00:00+00:00"}]}',
    ],
)
def test_a_malformed_stored_record_is_a_clear_domain_error(text):
    with pytest.raises(DomainValueError):
        decode_record(text)


def test_an_unknown_missing_reason_is_a_clear_domain_error():
    with pytest.raises(DomainValueError, match="unknown missing reason"):
        Missing(SUBS, "flaky", T0, "api")  # type: ignore[arg-type]
