"""Import (or re-import) an agency's creators from Fanvue."""

from __future__ import annotations

from dataclasses import dataclass

from onyx_core.catalog import Creator
from onyx_core.connections import resolve_connection
from onyx_core.errors import NotFoundError
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.ports import SourceUnavailable
from onyx_core.stats import MissingReason
from onyx_core.usecases.context import Context, describe


@dataclass(frozen=True, slots=True)
class ImportReport:
    agency_id: AgencyId
    listed: int
    added: tuple[CreatorId, ...]
    updated: tuple[CreatorId, ...]
    unchanged: int


async def import_creators(ctx: Context, agency_id: AgencyId) -> ImportReport:
    """Upsert every creator Fanvue lists for the agency's connection.

    Nothing is ever deleted: Fanvue answers an empty list when the grant lacks permission, so a creator missing
    from one listing is not evidence that the agency stopped managing them.
    """
    async with ctx.uow() as uow:
        if await uow.agencies.get(agency_id) is None:
            raise NotFoundError(f"no agency {agency_id}")
        connection = await uow.connections.for_agency(agency_id)
    choice = resolve_connection(agency=connection, creator=None)
    if choice.connection is None:
        raise SourceUnavailable(MissingReason.NO_CONNECTION, describe(choice))
    profiles = await ctx.fanvue.list_creators(choice.connection)

    now = ctx.clock.now()
    added: list[CreatorId] = []
    updated: list[CreatorId] = []
    async with ctx.uow() as uow:
        for profile in profiles:
            existing = await uow.creators.get(CreatorId(profile.fanvue_uuid))
            if existing is None:
                await uow.creators.upsert(Creator.from_profile(profile, agency_id, now))
                added.append(CreatorId(profile.fanvue_uuid))
            elif existing.agency_id != agency_id or not existing.same_profile(profile):
                await uow.creators.upsert(Creator.from_profile(profile, agency_id, existing.imported_at))
                updated.append(existing.id)
        await uow.commit()
    return ImportReport(
        agency_id, len(profiles), tuple(added), tuple(updated), len(profiles) - len(added) - len(updated)
    )
