"""The agency's tracking links with their return, and entering what a link cost.

Reading needs ``view_creators`` and covers the creators the member may see; entering a cost needs
``enter_link_costs`` and a link of a creator within her scope. A link of another agency, of a creator outside her
scope, or unknown, is :class:`~onyx_core.errors.NotFoundError` alike (W7). The ranking and the ROI are the
dashboard's (:func:`~onyx_core.analytics.dashboard.rank_links`), so both answers always agree."""

from __future__ import annotations

from onyx_core.accounts.model import AuditAction
from onyx_core.accounts.rules import Permission
from onyx_core.accounts.usecases.deps import (
    AccountsDeps,
    Principal,
    audit,
    require,
    require_creator,
    visible_creators,
)
from onyx_core.analytics.dashboard import LinkRevenue, rank_links
from onyx_core.catalog import TrackingLink, TrackingLinkCost
from onyx_core.errors import DomainValueError, NotFoundError
from onyx_core.ids import CreatorId, TrackingLinkId
from onyx_core.money import USD, Money

__all__ = ["LINK_COST_CURRENCY", "list_tracking_links", "set_link_cost"]

LINK_COST_CURRENCY = USD
"""A cost is in the ledger's currency (Fanvue reports USD): the ROI divides the two, no exchange rate guessed."""


async def list_tracking_links(
    deps: AccountsDeps, principal: Principal, creator_id: CreatorId | None = None
) -> list[LinkRevenue]:
    """The links of every creator the principal may see (or of ``creator_id`` alone: NotFoundError unless she
    may see it), ranked by net revenue, each with its ROI when a cost was entered."""
    require(principal, Permission.VIEW_CREATORS)
    async with deps.uow() as uow:
        if creator_id is not None:
            creators = [await require_creator(principal, creator_id, uow.creators)]
        else:
            creators = visible_creators(principal, await uow.creators.for_agency(principal.member.agency_id))
        links: list[TrackingLink] = []
        for creator in creators:
            links.extend(await uow.tracking_links.for_creator(creator.id))
        costs = await uow.link_costs.for_links([link.id for link in links])
    return rank_links(links, {link_id: c.cost for link_id, c in costs.items()}, LINK_COST_CURRENCY)


async def set_link_cost(
    deps: AccountsDeps, principal: Principal, link_id: TrackingLinkId, cost: Money, *, ip: str | None = None
) -> LinkRevenue:
    """Enter (or replace) what the link cost. A negative cost, or one in another currency than
    :data:`LINK_COST_CURRENCY`, is a :class:`~onyx_core.errors.DomainValueError` and nothing is written. Audited."""
    require(principal, Permission.ENTER_LINK_COSTS)
    if cost.currency != LINK_COST_CURRENCY:
        raise DomainValueError(f"a link's cost is in {LINK_COST_CURRENCY}, the ledger's currency")
    now = deps.clock.now()
    entered = TrackingLinkCost(link_id, cost, now)  # refuses a negative cost before anything is read
    async with deps.uow() as uow:
        link = await uow.tracking_links.get(link_id)
        if link is None:
            raise NotFoundError(f"no tracking link {link_id}")
        await require_creator(principal, link.creator_id, uow.creators)
        await uow.link_costs.save(entered)
        await audit(
            uow, now, AuditAction.LINK_COST_SET, principal.member, target=link_id,
            details={"cost_cents": str(cost.cents), "currency": cost.currency}, ip=ip,
        )  # fmt: skip
        await uow.commit()
    return rank_links([link], {link_id: cost}, LINK_COST_CURRENCY)[0]
