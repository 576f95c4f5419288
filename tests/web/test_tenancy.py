"""W7, generated from ``app.routes``: for every route whose path names an object (``{creator_id}``,
``{member_id}``, ``{invite_id}``, ``{token_id}``, ``{connection_id}``, ``{run_id}``, ``{link_id}``, ``{token}``),
agency A gets such an object and agency B's owner calls the route with A's id — with a valid body, and the CSRF
token on unsafe methods — and must get a 404 problem holding 0 bytes of A's data (no id, name or email of A). Then
A's owner calls it and must not get 404 (else the object never existed and the check proved nothing).

The objects are made by :data:`FACTORIES`, keyed by path-parameter name, through the core's use cases or the SQL
repositories. A route with a path parameter in neither :data:`FACTORIES` nor :data:`NOT_OBJECT_IDS` fails
:func:`test_every_path_parameter_has_a_factory`: a new kind of id cannot slip by.

``{token}`` (a public invitation link) is a capability, not an id behind a session: whoever holds a live link may
read its invitation. Its W7 case is a dead link of A (revoked): 404 and nothing of A, whoever asks.

Also: a member limited to creator X gets the same 404 on creator Y of her own agency, on every ``{creator_id}``
route. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from auth_kit import PASSWORD, Env, client, make_env
from litestar import Litestar, Request, get, post
from litestar.params import FromPath, JSONBody
from tenancy_kit import Agency, Session, Tenancy, leaks

from onyx_core.accounts import Principal
from onyx_core.accounts.model import Role
from onyx_core.accounts.usecases.creators import show_creator
from onyx_core.ids import CreatorId
from onyx_web.accounts.authentication import PAGE, PUBLIC, SAFE_METHODS
from onyx_web.accounts.routes import Accounts
from onyx_web.errors import PROBLEM_JSON
from onyx_web.pages.routes import STATIC_SHELL

_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")

Factory = Callable[[Tenancy, Agency], str]

FACTORIES: dict[str, Factory] = {
    "creator_id": lambda t, a: t.creator(a),
    "member_id": lambda t, a: t.member_id(a),
    "invite_id": lambda t, a: t.invite(a)[0],
    "token_id": lambda t, a: t.api_token(a.owner_email, a)[0],
    "connection_id": lambda t, a: t.connection(a),
    "token": lambda t, a: t.invite(a, revoked=True)[1],
    "run_id": lambda t, a: t.refresh_run(a),
    "link_id": lambda t, a: t.tracking_link(a),
}
"""How to make agency A's object for each path-parameter name."""

CAPABILITIES = {"token"}
"""Parameters that are secrets of a link, not ids behind a session: their object is a dead link (see above), and
no one, A included, may get more than 404 for it."""

NOT_OBJECT_IDS: dict[str, str] = {
    "path": "the file name under /schema (the OpenAPI document's router): no agency data",
    "name": "a file of the package's own under /static (the pages' script and style sheet): no agency data",
    "agency_id": "only in Fanvue's webhook receiver's address, which takes no session: the X-Fanvue-Signature made "
    "with that agency's secret is the credential, and an unknown agency, another agency's id and a bad signature "
    "all answer the same 401 with nothing of any agency (tests/web/test_webhooks.py)",
    "event_type": "a Fanvue event type name (tip.new ...) in the webhook receiver's address: not an object",
}
"""Path parameters that name no object of an agency, each with why."""

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/invites/{token}/accept"): {
        "email": "w7-joiner@bravo.test",
        "display_name": "W7 Joiner",
        "password": PASSWORD,
    },
    ("PUT", "/api/tracking-links/{link_id}/cost"): {"cents": 100, "currency": "USD"},  # an ISO 4217 code
}
"""A valid body where the one made from the route's schema (:func:`example`) would not be."""


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    public: bool
    shell: bool = False
    """A static page: the same answer whatever its path holds (checked by its own test)."""
    page: bool = False
    """A private page: its 404 is a page (HTML) saying nothing was found, not a problem."""

    @property
    def parameters(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def template(self) -> str:
        """The path as the OpenAPI document writes it (``{creator_id}``)."""
        return _PARAM.sub(lambda m: "{" + m.group(1) + "}", self.path)

    @property
    def unsafe(self) -> bool:
        return self.method not in SAFE_METHODS

    def url(self, values: dict[str, str]) -> str:
        return _PARAM.sub(lambda m: values[m.group(1)], self.path)


def operations(app: Litestar) -> list[Operation]:
    return sorted(
        {
            Operation(
                route.path,
                method,
                bool(handler.opt.get(PUBLIC)),
                bool(handler.opt.get(STATIC_SHELL)),
                bool(handler.opt.get(PAGE)),
            )
            for route in app.routes
            for handler in route.route_handlers  # type: ignore[attr-defined]
            for method in handler.http_methods
            if method not in {"OPTIONS", "HEAD"}
        },
        key=lambda op: (op.path, op.method),
    )


def object_operations(app: Litestar) -> list[Operation]:
    """The operations whose path names an object (a parameter not in :data:`NOT_OBJECT_IDS`)."""
    return [op for op in operations(app) if not op.shell and any(p not in NOT_OBJECT_IDS for p in op.parameters)]


def uncovered(app: Litestar) -> list[str]:
    """Every path parameter of a route that W7 does not know how to make an object for."""
    known = FACTORIES.keys() | NOT_OBJECT_IDS.keys()
    return [f"{op.method} {op.path}: {{{p}}}" for op in operations(app) for p in op.parameters if p not in known]


_SCALARS: dict[str, Any] = {"array": [], "boolean": False, "integer": 1, "number": 1, "null": None}


def _composite(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any] | None:
    """The schema a ``$ref``, ``oneOf``/``anyOf`` (first non-null branch) or ``allOf`` (merged) stands for."""
    if "$ref" in schema:
        return dict(components[schema["$ref"].rsplit("/", 1)[-1]])
    for key in ("oneOf", "anyOf"):
        if key in schema:
            branches = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return dict(branches[0])
    if "allOf" in schema:
        properties: dict[str, Any] = {}
        for part in schema["allOf"]:
            properties.update((_composite(part, components) or part).get("properties", {}))
        return {"type": "object", "properties": properties}
    return None


def example(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """A value valid for ``schema`` (every property filled, the first enum value, the first non-null branch)."""
    while (resolved := _composite(schema, components)) is not None:
        schema = resolved
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {name: example(prop, components) for name, prop in schema.get("properties", {}).items()}
    if kind in _SCALARS:
        return _SCALARS[kind]
    return "w7@bravo.test" if schema.get("format") == "email" else "w7-" + "x" * max(0, schema.get("minLength", 0) - 3)


def bodies(app: Litestar) -> dict[tuple[str, str], Any]:
    """A valid JSON body for each operation that takes one: :data:`BODIES`, else :func:`example` of its schema."""
    document = app.openapi_schema.to_schema()
    components = document.get("components", {}).get("schemas", {})
    made: dict[tuple[str, str], Any] = {}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {}) if isinstance(operation, dict) else {}
            if "application/json" in content:
                made[(method.upper(), path)] = example(content["application/json"].get("schema", {}), components)
    return {**made, **BODIES}


def _call(c: Any, op: Operation, url: str, session: Session, body: Any) -> Any:
    kwargs: dict[str, Any] = {"headers": session.headers(unsafe=op.unsafe)}
    if body is not None:
        kwargs["json"] = body
    return c.request(op.method, url, **kwargs)


def cross_agency_answers(env: Env, app: Litestar) -> tuple[int, list[str]]:
    """Agency B's owner on agency A's objects, for every object operation of ``app``: how many operations were
    checked, and each wrong answer (not a 404 problem, A's data in it, or A's own owner not finding the object)."""
    t = Tenancy(env)
    a, b = t.agency("Alpha"), t.agency("Bravo")
    b_owner, a_owner = t.session(b.owner_email), t.session(a.owner_email)
    body_of = bodies(app)
    ops = [op for op in object_operations(app) if all(p in FACTORIES or p in NOT_OBJECT_IDS for p in op.parameters)]
    wrong: list[str] = []
    with client(app) as c:
        for op in ops:
            values = {p: FACTORIES[p](t, a) for p in op.parameters if p in FACTORIES}
            url, body = op.url(values), body_of.get((op.method, op.template))
            response = _call(c, op, url, b_owner, body)
            leaked = leaks(response.text, a)
            expected = "text/html; charset=utf-8" if op.page else PROBLEM_JSON
            if response.status_code != 404 or response.headers.get("content-type") != expected or leaked:
                wrong.append(f"{op.method} {op.path} as B: {response.status_code}, A's data: {leaked}")
            if not CAPABILITIES & set(op.parameters):
                own = _call(c, op, url, a_owner, body)
                if own.status_code == 404:
                    wrong.append(f"{op.method} {op.path} as A: 404 (the object was not made: the check is void)")
    return len(ops), wrong


def test_every_path_parameter_has_a_factory(env: Env) -> None:
    assert uncovered(env.app) == []


def test_every_factory_makes_an_object_of_agency_a(env: Env) -> None:
    """The factories of routes other domains add run today (so the table is ready when their routes land)."""
    t = Tenancy(env)
    a = t.agency("Alpha")
    made = {name: factory(t, a) for name, factory in FACTORIES.items()}
    assert all(made.values())
    assert {v for k, v in made.items() if k not in CAPABILITIES} <= a.secrets


def test_agency_b_gets_404_and_nothing_of_agency_a_on_every_object_route(
    env: Env, record_property: pytest.RecordProperty
) -> None:
    checked, wrong = cross_agency_answers(env, env.app)
    assert checked >= 1  # GET /api/creators/{creator_id} at least
    assert wrong == []
    record_property("W7", f" {checked} operations with an object id: 100 % 404 with 0 bytes of the other agency's")


def test_a_static_page_holds_nothing_of_the_object_its_path_names(env: Env) -> None:
    """A page shell (``/invite/{token}``) answers the same bytes for agency A's object as for a made-up one: it
    holds no data of A (its script asks the API, under W7's rule)."""
    t = Tenancy(env)
    a = t.agency("Alpha")
    shells = [op for op in operations(env.app) if op.shell and op.parameters]
    assert shells  # /invite/{token} at least
    with client(env.app) as c:
        for op in shells:
            real = c.get(op.url({p: FACTORIES[p](t, a) for p in op.parameters}))
            made_up = c.get(op.url(dict.fromkeys(op.parameters, "w7-made-up-0123456789")))
            assert (real.status_code, real.text) == (made_up.status_code, made_up.text), op.path
            assert leaks(real.text, a) == [], op.path


def test_a_member_scoped_to_one_creator_gets_404_on_another_of_her_agency(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    x, y = t.creator(a, "xena"), t.creator(a, "yara")
    viewer = t.session(t.member(a, Role.VIEWER, frozenset({x})))
    ops = [op for op in object_operations(env.app) if op.parameters == ["creator_id"]]
    body_of = bodies(env.app)
    wrong: list[str] = []
    with client(env.app) as c:
        for op in ops:
            body = body_of.get((op.method, op.template))
            refused = _call(c, op, op.url({"creator_id": y}), viewer, body)
            if refused.status_code != 404 or y in refused.text or "yara" in refused.text:
                wrong.append(f"{op.method} {op.path} on Y: {refused.status_code}")
            if _call(c, op, op.url({"creator_id": x}), viewer, body).status_code == 404:
                wrong.append(f"{op.method} {op.path} on X: 404")
    assert ops
    assert wrong == []


# The mechanism, on routes of the test's own: a leaking route and an unknown parameter are caught, and an unsafe
# route with a body is called with a valid body and the CSRF token (else it would answer 400 or 403, not 404).


@get("/test/leaky/{creator_id:str}")
async def leaky(creator_id: FromPath[str], accounts: Accounts) -> dict[str, str]:
    async with accounts.uow() as uow:
        creator = await uow.creators.get(CreatorId(creator_id))
    return {"name": "?" if creator is None else creator.display_name}


@get("/test/things/{thing_id:str}")
async def things(thing_id: FromPath[str]) -> dict[str, str]:
    return {"thing": thing_id}


@dataclass(frozen=True)
class Note:
    text: str
    pinned: bool
    tags: list[str]


@post("/test/creators/{creator_id:str}/notes")
async def add_note(
    creator_id: FromPath[str], data: JSONBody[Note], accounts: Accounts, request: Request[Any, Any, Any]
) -> dict[str, str]:
    principal = request.user
    assert isinstance(principal, Principal)
    await show_creator(accounts, principal, CreatorId(creator_id))
    return {"text": data.text}


def test_the_checks_catch_a_leaking_route_and_an_unknown_parameter(env: Env) -> None:
    for handler in (leaky, things, add_note):
        env.app.register(handler)
    assert uncovered(env.app) == ["GET /test/things/{thing_id:str}: {thing_id}"]
    checked, wrong = cross_agency_answers(env, env.app)
    assert [w.split(":")[0] for w in wrong] == ["GET /test/leaky/{creator_id"]
    assert "as B: 200, A's data: ['" in wrong[0]
    assert checked >= 3


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)
