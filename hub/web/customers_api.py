"""Customers on the agent side: the record with its proven identities and the addresses only typed (unverified),
editing (supervisors), and merging one record into another by hand (supervisors)."""
from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import and_, select, update

from hub import audit
from hub.domain import Role
from hub.errors import Invalid, NotFoundError
from hub.serialize import ticket_json
from hub.services import HUB
from hub.store import facts, records
from hub.store import tickets as ticket_store
from hub.store.merge import MergeError, merge_customers
from hub.store.schema import agents, customers, identities, tickets
from hub.surveys.zones import valid_zone
from hub.validation import id_value
from hub.web.http import AGENT_KEY, int_arg, read_json, requires, text_field

routes = web.RouteTableDef()


async def unverified_json(conn: Any, customer_id: int) -> list[dict[str, Any]]:
    """Addresses the customer typed (chat hello email, callback phone, contact form): display data.  `owner_id` names
    the customer who proved the same address, when another one did: a hint for linking the records by hand."""
    proven = identities.alias("proven")
    rows = (
        await conn.execute(
            select(identities, proven.c.customer_id.label("owner_id"))
            .outerjoin(proven, and_(proven.c.channel == identities.c.channel, proven.c.external_id == identities.c.external_id,
                                    proven.c.verified, proven.c.customer_id != customer_id))
            .where(and_(identities.c.customer_id == customer_id, identities.c.verified.is_(False)))
            .order_by(identities.c.id)
        )
    ).all()
    return [{"channel": r.channel, "external_id": r.external_id, "display": r.display, "unreachable": r.unreachable,
             "owner_id": r.owner_id} for r in rows]


async def customer_json(conn: Any, cid: int) -> dict[str, Any]:
    row = (await conn.execute(select(customers).where(customers.c.id == cid))).first()
    if row is None:
        raise NotFoundError(f"customer {cid} does not exist")
    idents = (
        await conn.execute(
            select(identities).where(and_(identities.c.customer_id == cid, identities.c.verified)).order_by(identities.c.id)
        )
    ).all()
    ts = (await conn.execute(select(tickets).where(tickets.c.customer_id == cid).order_by(tickets.c.id.desc()))).all()
    c = records.customer(row)
    return {
        "id": c.id,
        "tz": row.tz,
        "name": c.name,
        "language": c.language,
        "tier": c.tier,
        "tags": list(row.tags or ()),
        "account_manager_id": c.account_manager_id,
        "created_at": c.created_at.isoformat(),
        "erased_at": row.erased_at.isoformat() if row.erased_at else None,
        # Opted out of win-back and follow-up messages (List-Unsubscribe); replies to their tickets still go out.
        "unsubscribed_at": row.unsubscribed_at.isoformat() if row.unsubscribed_at else None,
        "identities": [
            # A web visitor's id is a token hash: agents see that a web identity exists, never the hash.
            {"channel": i.channel, "external_id": i.external_id if i.channel != "webchat" else "visitor", "display": i.display,
             "unreachable": i.unreachable, "verified": True}
            for i in idents
        ],
        "unverified": await unverified_json(conn, cid),
        "tickets": [ticket_json(records.ticket(t)) for t in ts],
    }


@routes.get("/api/customers/{id}")
@requires()
async def get_customer(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    cid = int_arg(request, "id")
    async with hub.db.read() as conn:
        body = await customer_json(conn, cid)
    async with hub.db.write() as conn:
        await audit.record(conn, "customer.view", actor=request[AGENT_KEY], target_type="customer", target_id=cid,
                           customer_id=cid, at=hub.clock.now())
    return web.json_response(body)


@routes.patch("/api/customers/{id}")
@requires(Role.SUPERVISOR)
async def update_customer(request: web.Request) -> web.Response:
    """Tier, tags and the dedicated account manager (supervisors and admins)."""
    hub = request.app[HUB]
    cid = int_arg(request, "id")
    data = await read_json(request)
    values: dict[str, Any] = {}
    if "tier" in data:
        values["tier"] = text_field(data, "tier", 40)
    if "tags" in data:
        if not isinstance(data["tags"], list) or not all(isinstance(t, str) for t in data["tags"]):
            raise Invalid("tags must be a list of strings", field="tags")
        values["tags"] = data["tags"][:50]
    if "account_manager_id" in data:
        am = data["account_manager_id"]
        if am is not None and (not isinstance(am, int) or isinstance(am, bool)):
            raise Invalid("account_manager_id must be an agent id or null", field="account_manager_id")
        if am is not None:
            id_value(am, "account_manager_id")
        values["account_manager_id"] = am
    if "name" in data:
        values["name"] = text_field(data, "name", 300)
    if "tz" in data:  # the customer's own zone: follow-up messages reach them inside open hours there
        tz = text_field(data, "tz", 64, required=False)
        if tz is not None and valid_zone(tz) is None:
            raise Invalid(f"unknown time zone {tz!r} (expected an IANA name such as Asia/Bangkok)", field="tz")
        values["tz"] = tz
    async with hub.db.write() as conn:
        if values.get("account_manager_id") is not None:
            if not (await conn.execute(select(agents.c.id).where(agents.c.id == values["account_manager_id"]))).first():
                raise Invalid("no such agent", field="account_manager_id")
        res = await conn.execute(update(customers).where(customers.c.id == cid).values(**values)) if values else None
        if res is not None and res.rowcount == 0:
            raise NotFoundError(f"customer {cid} does not exist")
        if values:
            # Which fields changed, not their values: the name is the customer's and must go when they are erased.
            await audit.record(conn, "customer.edit", actor=request[AGENT_KEY], target_type="customer", target_id=cid,
                               customer_id=cid, at=hub.clock.now(), detail={"fields": sorted(values)})
    async with hub.db.read() as conn:
        return web.json_response(await customer_json(conn, cid))


@routes.post("/api/customers/{id}/merge")
@requires(Role.SUPERVISOR)
async def merge_customer(request: web.Request) -> web.Response:
    """Merge customer {id} into `customer_id` (supervisors and admins): the kept record gets its identities,
    unverified addresses, tickets and callbacks, and {id} ceases to exist.  Answers the kept record."""
    hub = request.app[HUB]
    cid = int_arg(request, "id")
    data = await read_json(request)
    raw = data.get("customer_id")
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise Invalid("customer_id must be the id of the customer to keep", field="customer_id")
    target = id_value(raw, "customer_id")
    now = hub.clock.now()
    agent_id = request[AGENT_KEY].id
    try:
        async with hub.db.write() as conn:
            merged = await merge_customers(conn, cid, target)
            for tid in merged.tickets:
                facts.note("updated", tid)
            await ticket_store.add_traces_each(conn, merged.tickets, now, "customer_merged",
                                               f"customer {cid} merged into {target} by agent {agent_id}")
            await audit.record(conn, "customer.merge", actor=request[AGENT_KEY], target_type="customer",
                               target_id=target, customer_id=target, at=now, detail={"merged_id": cid})
    except MergeError as exc:
        raise (NotFoundError(exc.detail) if exc.missing else Invalid(exc.detail, field=exc.field)) from None
    async with hub.db.read() as conn:
        body = await customer_json(conn, target)
        moved = (await conn.execute(select(tickets).where(tickets.c.id.in_(merged.tickets)))).all() if merged.tickets else []
    for row in moved:  # consoles showing these tickets learn their new customer
        await hub.events.ticket("ticket.updated", records.ticket(row))
    return web.json_response(body)
