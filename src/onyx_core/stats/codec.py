"""A canonical JSON form of stats records, for storage: equal records encode to identical bytes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from onyx_core.errors import DomainValueError
from onyx_core.stats.merge import MetricRecord
from onyx_core.stats.observations import Adjustment, Floor, Missing, MissingReason, Observation, Ok
from onyx_core.stats.state import Credit, MetricState, PendingCliff
from onyx_core.timeutil import require_utc

FORMAT_VERSION = 2
"""2: refund credits with when they happened, the time the value reflects, the floor (1 had one allowance)."""
READABLE_FORMATS = frozenset({1, 2})


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise DomainValueError(f"expected an ISO timestamp, got {value!r}")
    return require_utc(datetime.fromisoformat(value), "stored timestamp")


def _state(state: MetricState) -> dict[str, Any]:
    pending = state.pending
    return {
        "value": state.value,
        "observed_at": _time(state.observed_at),
        "source": state.source,
        "pending": None
        if pending is None
        else {
            "value": pending.value,
            "first": _time(pending.first_observed_at),
            "last": _time(pending.last_observed_at),
            "source": pending.source,
        },
        "stale_since": _time(state.stale_since),
        "stale_reason": None if state.stale_reason is None else state.stale_reason.value,
        "credits": [{"v": c.amount, "at": _time(c.occurred_at), "ref": c.reference} for c in state.credits],
        "reflects_until": _time(state.reflects_until),
        "floor": state.floor,
    }


def _observation(obs: Observation) -> dict[str, Any]:
    match obs:
        case Ok():
            ok = {"t": "ok", "v": obs.value, "at": _time(obs.at), "src": obs.source}
            return ok if obs.refunds_tracked else {**ok, "untracked": True}
        case Missing():
            return {"t": "missing", "r": obs.reason.value, "at": _time(obs.at), "src": obs.source, "d": obs.detail}
        case Adjustment():
            adj = {"t": "adj", "v": obs.amount, "at": _time(obs.at), "ref": obs.reference, "r": obs.reason}
            return adj if obs.occurred == obs.at else {**adj, "occurred": _time(obs.occurred)}
        case Floor():
            return {"t": "floor", "v": obs.value, "at": _time(obs.at), "src": obs.source}


def record_to_dict(record: MetricRecord) -> dict[str, Any]:
    """A JSON-ready dict of ``record`` (window observations in merge order)."""
    return {
        "format": FORMAT_VERSION,
        "metric": record.metric,
        "state": _state(record.state),
        "base": _state(record.base),
        "window": [_observation(o) for o in record.window],
        "latest_at": _time(record.latest_at),
    }


def encode_record(record: MetricRecord) -> str:
    """Canonical JSON text: sorted keys, no whitespace. Equal records give equal strings."""
    return json.dumps(record_to_dict(record), sort_keys=True, separators=(",", ":"))


def _int(value: object) -> int:
    if type(value) is not int:
        raise DomainValueError(f"expected an int, got {value!r}")
    return value


def _opt_int(value: object) -> int | None:
    return None if value is None else _int(value)


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise DomainValueError(f"expected a string, got {value!r}")
    return value


def _state_from(data: dict[str, Any]) -> MetricState:
    p = data.get("pending")
    pending = None
    if p is not None:
        first, last = _parse_time(p["first"]), _parse_time(p["last"])
        if first is None or last is None:
            raise DomainValueError("a pending cliff needs its first and last times")
        pending = PendingCliff(_int(p["value"]), first, last, _str(p["source"]))
    reason = data.get("stale_reason")
    observed_at = _parse_time(data.get("observed_at"))
    return MetricState(
        value=_opt_int(data.get("value")),
        observed_at=observed_at,
        source=None if data.get("source") is None else _str(data["source"]),
        pending=pending,
        stale_since=_parse_time(data.get("stale_since")),
        stale_reason=None if reason is None else MissingReason(reason),
        credits=_credits_from(data, observed_at),
        reflects_until=_parse_time(data.get("reflects_until")),
        floor=_opt_int(data.get("floor")),
    )


def _credits_from(data: dict[str, Any], observed_at: datetime | None) -> tuple[Credit, ...]:
    credits = []
    for c in data.get("credits", ()):
        occurred = _parse_time(c["at"])
        if occurred is None:
            raise DomainValueError("a refund credit needs the time it happened")
        credits.append(Credit(_int(c["v"]), occurred, _str(c["ref"])))
    legacy = _int(data.get("allowance", 0))  # format 1: one sum, of refunds not yet reflected in the value
    if legacy:
        after_value = (observed_at or datetime.min.replace(tzinfo=UTC)) + timedelta(microseconds=1)
        credits.append(Credit(legacy, after_value, "format-1 allowance"))
    return tuple(credits)


def _observation_from(metric: str, data: dict[str, Any]) -> Observation:
    at = _parse_time(data["at"])
    if at is None:
        raise DomainValueError("a stored observation needs its time")
    match data["t"]:
        case "ok":
            return Ok(metric, _int(data["v"]), at, _str(data["src"]), refunds_tracked=data.get("untracked") is not True)
        case "missing":
            return Missing(metric, MissingReason(data["r"]), at, _str(data["src"]), _str(data.get("d", "")))
        case "adj":
            occurred = _parse_time(data.get("occurred")) or at
            return Adjustment(metric, _int(data["v"]), at, _str(data["ref"]), _str(data["r"]), occurred)
        case "floor":
            return Floor(metric, _int(data["v"]), at, _str(data["src"]))
        case other:
            raise DomainValueError(f"unknown stored observation type {other!r}")


def record_from_dict(data: dict[str, Any]) -> MetricRecord:
    """Inverse of :func:`record_to_dict`; raises :class:`DomainValueError` on a malformed document."""
    if data.get("format") not in READABLE_FORMATS:
        raise DomainValueError(f"unsupported stats record format {data.get('format')!r}")
    try:
        metric = _str(data["metric"])
        return MetricRecord(
            metric=metric,
            state=_state_from(data["state"]),
            base=_state_from(data["base"]),
            window=tuple(_observation_from(metric, o) for o in data["window"]),
            latest_at=_parse_time(data.get("latest_at")),
        )
    except DomainValueError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise DomainValueError(f"malformed stats record: {type(error).__name__}: {error}") from error


def decode_record(text: str) -> MetricRecord:
    """Inverse of :func:`encode_record`."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise DomainValueError(f"a stats record is JSON: {error}") from error
    if not isinstance(data, dict):
        raise DomainValueError("a stats record is a JSON object")
    return record_from_dict(data)
