"""``onyx demo``: the main job, live. It syncs the sandbox agency as ``onyx demo --once`` does and prints its table,
then serves the web app with a one-time owner login while the in-process sandbox keeps earning and an in-process
scheduler keeps syncing, so the dashboard's numbers move. Ctrl-C or SIGTERM stops it all (exit code 0).

One process, one event loop:

- the Fanvue sandbox, in-process for the demo's own syncs and also served on a loopback port, because the web app
  reaches Fanvue over HTTP (token refreshes, Connect and Reconnect, which send the browser to the sandbox's consent
  page); the web is configured with the sandbox's app registration and that address, as ``onyx serve`` would be;
- the web app (``onyx_web.app``, loaded by name as ``onyx serve`` loads it: the adapters never import the web) on
  uvicorn, on the same database and cipher keys;
- a task adding a payment (a tip, a message or a subscription) for a random creator every ``earn_every`` seconds;
- the :class:`~onyx_adapters.scheduler.Scheduler`, ticking every ``sync_every`` seconds with stats and ledger due at
  every tick, writing through the normal repositories (so each write moves the data stamps the web reads).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import signal
import socket
import time
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TextIO

from pydantic import SecretStr
from rich.console import Console

from onyx_adapters.accounts import accounts_deps
from onyx_adapters.cli.errors import CommandError
from onyx_adapters.cli.sandbox_demo import (
    DEMO_AGENCY,
    demo_console,
    demo_database,
    demo_keys,
    demo_spec,
    print_banner,
    print_throwaway_key_note,
    sync_demo_agency,
)
from onyx_adapters.cli.serve import APP_FACTORY, bind, redact_server_logs, shown_address
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sandbox_runtime import sandbox_runtime
from onyx_adapters.scheduler import Scheduler, TickReport
from onyx_adapters.settings import OnyxSettings
from onyx_core.accounts import AccountsDeps, create_owner, reset_password
from onyx_core.ids import AgencyId
from onyx_core.schedule import Schedule
from onyx_fanvue.redaction import remember
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import DEFAULT_REDIRECT_URI, FanvueSandbox

__all__ = ["DEMO_OWNER_EMAIL", "LiveOptions", "Login", "demo_owner", "run_live_demo"]

DEMO_OWNER_EMAIL = "demo-owner@onyx.test"
LIVE_SOURCES = ("tip", "message", "subscription")
"""What the sandbox earns while the demo serves."""
CALLBACK_PATH = "/connections/fanvue/callback"
SHUTDOWN_GRACE_SECONDS = 3
"""How long the web waits for open requests (a live stream stays open) before it closes them at a stop."""


@dataclass(frozen=True, slots=True)
class LiveOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    earn_every: float = 5.0
    """Seconds between two new sandbox payments."""
    sync_every: float = 5.0
    """Seconds between two scheduler ticks (stats and ledger are due at each)."""
    sandbox_control_key: str | None = field(default=None, repr=False)
    """The key of the sandbox's control API on its loopback address (``None``: a random one nobody is shown)."""


@dataclass(frozen=True, slots=True)
class Login:
    url: str
    email: str
    password: str = field(repr=False)
    created: bool


@dataclass(frozen=True, slots=True)
class Shown:
    web_url: str
    login: Login | None
    fanvue_url: str = ""


class _Server:
    """A uvicorn server that leaves signals to the demo: uvicorn's own handlers would re-raise the signal at the
    end (a KeyboardInterrupt after a clean stop)."""

    def __init__(self, app: Any, *, lifespan: Literal["on", "off"]) -> None:
        import uvicorn  # noqa: PLC0415 - keep `onyx --help` fast

        class Quiet(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Generator[None, None, None]:
                yield

        config = uvicorn.Config(
            app,
            lifespan=lifespan,
            log_level="warning",
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )
        self.server = Quiet(config)

    @property
    def started(self) -> bool:
        return bool(self.server.started)

    def stop(self, *, force: bool = False) -> None:
        self.server.should_exit = True
        if force:
            self.server.force_exit = True

    def serve(self, sock: socket.socket) -> Coroutine[Any, Any, None]:
        return self.server.serve(sockets=[sock])


class _Stop:
    """SIGINT and SIGTERM set :attr:`event` (the demo then stops its parts in order); a second signal forces the
    servers down without waiting for open requests."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.servers: list[_Server] = []
        self.forced = False

    def __call__(self) -> None:
        if self.event.is_set():
            self.forced = True
            for server in self.servers:
                server.stop(force=True)
        self.event.set()

    @contextlib.contextmanager
    def installed(self) -> Generator[None, None, None]:
        loop = asyncio.get_running_loop()
        handled = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C stays a KeyboardInterrupt
                loop.add_signal_handler(signum, self)
                handled.append(signum)
        try:
            yield
        finally:
            for signum in handled:
                loop.remove_signal_handler(signum)


async def run_live_demo(
    out: TextIO,
    options: LiveOptions,
    *,
    database_url: str | None = None,
    seed: int = 1,
    cipher_keys: list[str] | None = None,
) -> int:
    """The live demo (see the module's doc); 0 when stopped by a signal."""
    console = demo_console(out)
    stop = _Stop()
    with stop.installed():
        body = asyncio.ensure_future(_live(console, options, stop, database_url, seed, cipher_keys))
        waiter = asyncio.ensure_future(stop.event.wait())
        await asyncio.wait({body, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if not body.done() and not stop.servers:  # stopped before serving: the sync in progress is dropped
            body.cancel()
        try:
            served = await body
        except asyncio.CancelledError:
            served = 0.0
    console.print(f"Stopped{f' after {_duration(served)}' if served else ''}. Goodbye.")
    return 0


async def _live(
    console: Console,
    options: LiveOptions,
    stop: _Stop,
    database_url: str | None,
    seed: int,
    cipher_keys: list[str] | None,
) -> float:
    redact_server_logs()
    web_sock = bind(options.host, options.port)
    fanvue_sock = bind("127.0.0.1", 0)
    try:
        web_url = _browser_url(web_sock)
        fanvue_url = shown_address(fanvue_sock)
        # a running clock: the payments made while serving are dated now, and freshness moves on
        sandbox = FanvueSandbox(
            spec=demo_spec(seed),
            clock=SandboxClock(),
            redirect_uris=(DEFAULT_REDIRECT_URI, web_url + CALLBACK_PATH),
            control_key=options.sandbox_control_key,
        )
        remember(sandbox.client_secret)  # scrubbed from every log line
        remember(sandbox.control_key)
        print_banner(console, sandbox)
        keys, throwaway_key = demo_keys(cipher_keys)
        cipher = FernetCipher(keys)
        async with (
            demo_database(database_url, console) as (url, engine),
            sandbox_runtime(sandbox, engine, cipher, virtual_time=False) as runtime,
        ):
            await sync_demo_agency(console, sandbox, runtime)
            if throwaway_key and database_url is not None:
                print_throwaway_key_note(console)
            login = await demo_owner(accounts_deps(engine, cipher), web_url)
            settings = OnyxSettings(
                database_url=url,
                cipher_keys=SecretStr(",".join(keys)),
                fanvue_client_id=sandbox.client_id,
                fanvue_client_secret=SecretStr(sandbox.client_secret),
                fanvue_redirect_uri=web_url + CALLBACK_PATH,
                fanvue_api_url=fanvue_url,
                fanvue_auth_url=f"{fanvue_url}/oauth2",
            )
            schedule = _schedule(options.sync_every)
            scheduler = Scheduler(runtime, schedule, on_tick=lambda report: _tick_line(console, report))
            shown = Shown(web_url, login, fanvue_url)
            return await _serve(console, options, stop, sandbox, settings, scheduler, shown, (web_sock, fanvue_sock))
    finally:
        web_sock.close()
        fanvue_sock.close()


def _schedule(sync_every: float) -> Schedule:
    tick = timedelta(seconds=sync_every)
    # due at every tick: a tick starts at least ``tick`` after the previous one ended
    return Schedule(tick=tick, stats_every=tick / 2, ledger_every=tick / 2)


async def _serve(
    console: Console,
    options: LiveOptions,
    stop: _Stop,
    sandbox: FanvueSandbox,
    settings: OnyxSettings,
    scheduler: Scheduler,
    shown: Shown,
    socks: tuple[socket.socket, socket.socket],
) -> float:
    from uvicorn.importer import import_from_string  # noqa: PLC0415 - by name: the adapters never import the web

    factory: Callable[[OnyxSettings], Any] = import_from_string(APP_FACTORY)
    web = _Server(factory(settings), lifespan="on")
    fanvue = _Server(sandbox.app, lifespan="off")
    stop.servers.extend((web, fanvue))
    fanvue_task = asyncio.ensure_future(fanvue.serve(socks[1]))
    web_task = asyncio.ensure_future(web.serve(socks[0]))
    tasks: list[asyncio.Future[Any]] = [fanvue_task, web_task]
    started = time.monotonic()
    try:
        while not (web.started and fanvue.started):
            if stop.event.is_set():
                return 0.0
            if web_task.done() or fanvue_task.done():
                raise CommandError("the web app did not start (its log above says why)")
            await asyncio.sleep(0.05)
        _print_login(console, shown)
        earner = asyncio.ensure_future(_earn(console, sandbox, options.earn_every, stop.event))
        syncer = asyncio.ensure_future(scheduler.run(stop=stop.event))
        tasks += [earner, syncer]
        waiter = asyncio.ensure_future(stop.event.wait())
        done, _ = await asyncio.wait({*tasks, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        for task in done - {waiter}:
            if not stop.event.is_set():  # a part ended on its own: a failure (uvicorn says why in its log)
                task.result()
                raise CommandError("the demo stopped serving (its log above says why)")
        return time.monotonic() - started
    finally:
        # in order: the earnings and the sync (a write in flight rolls back), then the web (its shutdown may still
        # call Fanvue: the refresh runs it started), then the sandbox it calls
        stop.event.set()
        for task in tasks[2:]:
            task.cancel()
        await asyncio.gather(*tasks[2:], return_exceptions=True)
        for server, task in ((web, web_task), (fanvue, fanvue_task)):
            server.stop(force=stop.forced)
            await asyncio.gather(task, return_exceptions=True)


def _print_login(console: Console, shown: Shown) -> None:
    out, login = console.file, shown.login
    if login is None:
        out.write(f"\nOnyx web at {shown.web_url}/\n")
        out.write(f"agency {DEMO_AGENCY!r} has members of its own (not the demo's owner): sign in with your account\n")
    else:
        done = "created" if login.created else "reset (new password, its sessions and 2FA removed)"
        out.write(
            f"\nOnyx web at {login.url}   (the dashboard; the sandbox keeps earning and Onyx keeps syncing)\n"
            f"demo owner {done}; one-time login, shown only now:\n"
            f"  email     {login.email}\n"
            f"  password  {login.password}\n"
            f"Fanvue sandbox at {shown.fanvue_url}   (its control API: /_sandbox, with --sandbox-control-key)\n"
            "Press Ctrl-C to stop.\n\n"
        )
    out.flush()


async def demo_owner(
    deps: AccountsDeps, web_url: str, *, agency_id: AgencyId = DEMO_AGENCY, email: str = DEMO_OWNER_EMAIL
) -> Login | None:
    """Create the demo agency's owner (:func:`create_owner`), or on a re-run reset her (:func:`reset_password`),
    with a fresh random password. ``None``: the agency has members of its own, or ``email`` belongs to another
    agency; nobody is touched then."""
    password = secrets.token_urlsafe(18)
    remember(password)  # scrubbed from every log line
    async with deps.uow() as uow:
        existing = await uow.members.by_email(email)
        members = await uow.members.for_agency(agency_id)
    if existing is not None and existing.agency_id == agency_id:
        await reset_password(deps, email=email, password=password)
        return Login(web_url + "/", email, password, created=False)
    if existing is not None or members:
        return None
    await create_owner(
        deps, agency_name="", email=email, display_name="Demo Owner", password=password, agency_id=agency_id
    )
    return Login(web_url + "/", email, password, created=True)


async def _earn(console: Console, sandbox: FanvueSandbox, every: float, stop: asyncio.Event) -> None:
    """A new payment for a random creator every ``every`` seconds, until ``stop``."""
    rng = random.Random(f"{sandbox.spec.seed}:live")  # noqa: S311 - sample data, not a secret
    creators = sandbox.world.creators
    # order ids of this run only: a re-run on a kept database must not reuse a stored payment's key
    run = secrets.token_hex(4)
    made = 0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
            return
        creator = rng.choice(creators)
        fan = rng.choice(creator.fans) if creator.fans else None
        source = rng.choice(LIVE_SOURCES)
        row = sandbox.add_earning(
            creator.person.uuid,
            gross=rng.randrange(300, 5_000),
            source=source,
            fan_uuid=fan.uuid if fan is not None else None,
            order_id=f"FV-LIVE-{run}-{made}",
        )
        made += 1
        console.print(
            f"{_clock()} sandbox: a new {source} of {row.gross / 100:.2f} {row.currency or ''} "
            f"for {creator.person.handle}"
        )


def _tick_line(console: Console, report: TickReport) -> None:
    rows = sum(ledger.inserted for synced in report.synced for ledger in synced.ledger)
    state = "partial, the next tick completes it" if report.partial else "ok"
    console.print(f"{_clock()} sync: {len(report.synced)} creator(s), {rows} new ledger row(s), {state}")


def _clock() -> str:
    return f"{datetime.now(UTC):%H:%M:%S}"


def _browser_url(sock: socket.socket) -> str:
    """Where a browser on this machine reaches a socket (a wildcard address is reached on loopback)."""
    url = shown_address(sock)
    return url.replace("//0.0.0.0:", "//127.0.0.1:").replace("//[::]:", "//[::1]:")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
