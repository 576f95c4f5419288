"""Who may see which creator: the agency's team and their creator access, changeable while the sandbox runs
(unassigning a creator from a member is one of the faults clients must survive)."""

from __future__ import annotations

import threading

from onyx_fanvue.sandbox.world import World

__all__ = ["AccessBook"]


class AccessBook:
    """Starts from the world's team; :meth:`unassign` / :meth:`assign` change it. Thread-safe."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._lock = threading.Lock()
        self._access: dict[str, dict[str, str]] = {m.uuid: dict(m.creator_access) for m in world.members()}
        self._admins = frozenset(m.uuid for m in world.members() if m.is_admin)

    def is_member(self, user_uuid: str) -> bool:
        return user_uuid in self._access

    def is_admin(self, user_uuid: str) -> bool:
        return user_uuid in self._admins

    def can_access(self, user_uuid: str, creator_uuid: str) -> bool:
        with self._lock:
            return creator_uuid in self._access.get(user_uuid, {})

    def creators_of(self, user_uuid: str) -> list[tuple[str, str]]:
        """``(creator uuid, role)`` for the member, in the world's creator order."""
        with self._lock:
            access = dict(self._access.get(user_uuid, {}))
        return [(c.uuid, access[c.uuid]) for c in self._world.creators if c.uuid in access]

    def unassign(self, member_uuid: str, creator_uuid: str) -> bool:
        """Take ``creator_uuid`` away from the member; ``False`` if they did not have it."""
        self._world.creator(creator_uuid)
        with self._lock:
            if member_uuid not in self._access:
                raise KeyError(f"no team member {member_uuid}")
            return self._access[member_uuid].pop(creator_uuid, None) is not None

    def assign(self, member_uuid: str, creator_uuid: str, role: str = "CHATTER") -> None:
        self._world.creator(creator_uuid)
        if role not in ("ADMIN", "CHATTER"):
            raise ValueError("role is ADMIN or CHATTER")
        with self._lock:
            if member_uuid not in self._access:
                raise KeyError(f"no team member {member_uuid}")
            self._access[member_uuid][creator_uuid] = role

    def member_json(self, member_uuid: str) -> dict[str, object]:
        """The ``/agencies/team-members`` row, with the access as it is now."""
        member = next(m for m in self._world.members() if m.uuid == member_uuid)
        return {
            **member.to_json(),
            "creatorAccess": [{"uuid": c, "role": r} for c, r in self.creators_of(member_uuid)],
        }
