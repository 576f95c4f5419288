"""``GET /creators`` rows (api doc §2.4)."""

from __future__ import annotations

from onyx_fanvue.models.common import FanUser

__all__ = ["CreatorRow"]


class CreatorRow(FanUser):
    """A creator of the agency: the fan-user fields plus an optional ``role`` (values undocumented)."""

    role: str | None = None
