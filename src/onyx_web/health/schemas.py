from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Health"]


@dataclass(frozen=True, slots=True)
class Health:
    status: Literal["ok"]
