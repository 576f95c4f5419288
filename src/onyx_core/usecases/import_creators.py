"""Import (or re-import) an agency's creators from Fanvue."""

from __future__ import annotations

from dataclasses import dataclass

from onyx_core.catalog import Creator
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.usecases.context import Context, with_agency_connection


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did. ``conflicts``: creators the connection lists that belong to another agency in Onyx;
    they are left where they are (moving a creator between tenants is a decision for a person)."""

    agency_id: AgencyId
    listed: int
    added: tuple[CreatorId, ...]
    updated: tuple[CreatorId, ...]
    unchanged: int
    conflicts: tuple[CreatorId, ...] = ()


async def import_creators(ctx: Context, agency_id: AgencyId) -> ImportReport:
    """Upsert every creator Fanvue lists for the agency's connection.

    Nothing is ever deleted: Fanvue answers an empty list when the grant lacks permission, so a creator missing
    from one listing is not evidence that the agency stopped managing them. A creator already stored under
    another agency is reported as a conflict and not moved.
    """
    profiles = await with_agency_connection(ctx, agency_id, ctx.fanvue.list_creators)

    now = ctx.clock.now()
    added: list[CreatorId] = []
    updated: list[CreatorId] = []
    conflicts: list[CreatorId] = []
    async with ctx.uow() as uow:
        for profile in profiles:
            creator_id = CreatorId(profile.fanvue_uuid)
            existing = await uow.creators.get(creator_id)
            if existing is None:
                await uow.creators.upsert(Creator.from_profile(profile, agency_id, now))
                added.append(creator_id)
            elif existing.agency_id != agency_id:
                conflicts.append(creator_id)
            elif not existing.same_profile(profile):
                await uow.creators.upsert(Creator.from_profile(profile, agency_id, existing.imported_at))
                updated.append(creator_id)
        await uow.commit()
    unchanged = len(profiles) - len(added) - len(updated) - len(conflicts)
    return ImportReport(agency_id, len(profiles), tuple(added), tuple(updated), unchanged, tuple(conflicts))
