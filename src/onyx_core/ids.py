"""Identifiers. ``NewType`` keeps them plain strings at run time while mypy tells them apart."""

from __future__ import annotations

from typing import NewType

AgencyId = NewType("AgencyId", str)
"""Onyx's id of an agency."""

CreatorId = NewType("CreatorId", str)
"""Onyx's id of a creator: by convention the creator's Fanvue user uuid, which is stable."""

ConnectionId = NewType("ConnectionId", str)
"""Onyx's id of a stored Fanvue OAuth connection (agency-level or creator-level)."""

FanId = NewType("FanId", str)
"""A fan's Fanvue user uuid."""

TrackingLinkId = NewType("TrackingLinkId", str)
"""A Fanvue tracking link uuid."""

MemberId = NewType("MemberId", str)
"""Onyx's id of a member: a person who signs in to an agency's Onyx."""

InviteId = NewType("InviteId", str)
"""Onyx's id of an invitation (to join an agency, or for a creator to connect her own Fanvue account)."""

ApiTokenId = NewType("ApiTokenId", str)
"""Onyx's id of a personal API token (the token itself is a secret and never an id)."""
