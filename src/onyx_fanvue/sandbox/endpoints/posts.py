"""Filled in by this step of the sandbox work."""

from __future__ import annotations

from onyx_fanvue.sandbox.api import Endpoint

ENDPOINTS: list[Endpoint] = []
