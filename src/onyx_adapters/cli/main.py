"""The ``onyx`` command. Entry points only parse arguments and call into the library."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from importlib.metadata import PackageNotFoundError, version

from onyx_adapters.cli.errors import CommandError, run_command


def _version() -> str:
    try:
        return version("onyx-fanvue")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onyx", description="Trustworthy Fanvue creator stats for agencies.")
    parser.add_argument("--version", action="version", version=f"onyx {_version()}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="sync a seeded agency from the built-in Fanvue sandbox, then serve its live dashboard (--once: "
        "print and exit; --rules: the failure walkthrough)",
        description="Starts the Fanvue sandbox in-process, connects its agency admin through OAuth + PKCE, imports "
        "the creators, backfills and syncs stats, ledger, subscriber history, top spenders and tracking links into "
        "an embedded SQLite database and prints what was stored. Then it serves the web app (as `onyx serve`) on "
        "--host/--port with a one-time login for the demo agency's owner (created, or reset on a re-run), while the "
        "sandbox keeps earning and Onyx keeps syncing, until Ctrl-C. With --once it prints and exits. With --rules, "
        "instead walks a seeded agency through sync rounds with injected Fanvue failures and prints the events that "
        "explain every number.",
    )
    demo.add_argument("--once", action="store_true", help="sync, print the table and exit (for scripts)")
    demo.add_argument("--rules", action="store_true", help="the failure walkthrough (in-memory) instead of the sync")
    demo.add_argument(
        "--database-url",
        default=None,
        help="keep the synced data here (default: a temporary file); to use it with `onyx serve` later, "
        "set ONYX_CIPHER_KEYS first (the stored tokens are encrypted with it)",
    )
    demo.add_argument("--seed", type=int, default=1, help="sandbox world seed (default: 1)")
    demo.add_argument("--host", default="127.0.0.1", help="interface the web app listens on (default: %(default)s)")
    demo.add_argument("--port", type=int, default=8000, help="the web app's port; 0 picks a free one (default: 8000)")
    demo.add_argument(
        "--earn-every",
        type=_seconds,
        default=5.0,
        help="seconds between two new sandbox payments while serving (default: 5)",
    )
    demo.add_argument(
        "--sync-every", type=_seconds, default=5.0, help="seconds between two syncs while serving (default: 5)"
    )
    demo.add_argument(
        "--sandbox-control-key",
        default=None,
        help="while serving: the key of the sandbox's control API (/_sandbox on the loopback address the demo "
        "prints), for scripts that change the Fanvue world (add an earning, inject a fault); default: random",
    )
    demo.add_argument("--events", action="store_true", help="with --rules: print every stats event")
    _add_sandbox(commands)
    migrate = commands.add_parser(
        "migrate",
        help="create or upgrade the database schema (Alembic) to the newest version",
        description="Migrates the database named by --database-url or ONYX_DATABASE_URL (default: a SQLite file in "
        "the user data directory) to the newest schema. An in-memory database is refused: it would vanish at exit.",
    )
    migrate.add_argument(
        "--database-url", default=None, help="sqlite:///path/to/onyx.db or postgresql://user:password@host/db"
    )
    _add_keys(commands)
    from onyx_adapters.cli.sync import add_sync_commands  # noqa: PLC0415

    add_sync_commands(commands)
    from onyx_adapters.cli.worker import add_worker_commands  # noqa: PLC0415

    add_worker_commands(commands)
    from onyx_adapters.cli.serve import add_serve_command  # noqa: PLC0415

    add_serve_command(commands)
    from onyx_adapters.cli.users import add_users_commands  # noqa: PLC0415

    add_users_commands(commands)
    _debug_everywhere(parser)
    return parser


DEBUG_HELP = "on an error, print its traceback too (and the log's); also accepted after the command"


def _debug_everywhere(parser: argparse.ArgumentParser) -> None:
    """``--debug`` after any (sub-)command as well: ``onyx sync --debug`` reads as naturally as ``onyx --debug
    sync``. SUPPRESS keeps a sub-parser from resetting a ``--debug`` given before the command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
                _debug_everywhere(sub)


def _add_keys(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser(
        "keys",
        help="make cipher keys and re-encrypt stored tokens with the newest one",
        description="Tokens are encrypted at rest with the key ring in ONYX_CIPHER_KEYS (comma-separated Fernet "
        "keys, newest first). To rotate: generate a key, put it in front, run `onyx keys rotate`, then drop the "
        "old key.",
    )
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    actions.add_parser("generate", help="print a new random key", description="Prints a new random Fernet key.")
    rotate = actions.add_parser(
        "rotate",
        help="re-encrypt every stored token with the newest key of ONYX_CIPHER_KEYS",
        description="Re-encrypts every stored connection token with the first key of ONYX_CIPHER_KEYS (any key "
        "of the ring may decrypt it) and prints how many were rewritten. Safe to re-run.",
    )
    rotate.add_argument("--database-url", default=None, help="SQLAlchemy URL (default: ONYX_DATABASE_URL)")


def _run_keys(args: argparse.Namespace) -> int:
    from onyx_adapters.cli.database import database_url  # noqa: PLC0415
    from onyx_adapters.crypto import FernetCipher, check_stored_tokens, rotate_connection_tokens  # noqa: PLC0415
    from onyx_adapters.settings import OnyxSettings  # noqa: PLC0415
    from onyx_adapters.sql.engine import create_engine  # noqa: PLC0415
    from onyx_adapters.sql.migrate import check_database  # noqa: PLC0415

    if args.keys_command == "generate":
        sys.stdout.write(FernetCipher.generate_key() + "\n")
        return 0
    cipher = FernetCipher.from_settings(OnyxSettings())
    url = database_url(args.database_url)

    async def rotate() -> int:
        engine = create_engine(url)
        try:
            await check_database(engine)
            # a ring that reads none of the stored tokens is the wrong ring, not one missing an old key
            await check_stored_tokens(engine, cipher, only_if_none_decrypts=True)
            return await rotate_connection_tokens(engine, cipher)
        finally:
            await engine.dispose()

    count = asyncio.run(rotate())
    sys.stdout.write(f"rotated {count} connection token(s) to the newest of {cipher.key_count} key(s)\n")
    return 0


def _run_migrate(args: argparse.Namespace) -> int:
    from onyx_adapters.cli.database import database_url  # noqa: PLC0415
    from onyx_adapters.sql.engine import create_engine, is_sqlite, shown_url  # noqa: PLC0415
    from onyx_adapters.sql.migrate import check_database, current, upgrade  # noqa: PLC0415

    url = database_url(args.database_url, create=True)

    async def check() -> None:  # it answers and takes writes; the schema is what this command is for
        engine = create_engine(url)
        try:
            await check_database(engine, migrated=False, intact=True)  # never migrate a damaged file
        finally:
            await engine.dispose()

    asyncio.run(check())
    before = current(url)
    upgrade(url)
    after = current(url)
    sys.stdout.write(f"database {shown_url(url)}: schema {before or 'empty'} -> {after}\n")
    if not is_sqlite(url):
        try:
            from onyx_adapters.workers import apply_queue_schema  # noqa: PLC0415
        except ImportError:  # the `workers` extra is not installed: there is no queue to migrate
            pass
        else:
            installed = apply_queue_schema(url)
            sys.stdout.write(f"job queue: {'installed' if installed else 'already installed'}\n")
    return 0


def _add_sandbox(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sandbox = commands.add_parser(
        "sandbox",
        help="serve the offline Fanvue (API + OAuth server) with a seeded agency",
        description="Serves a deterministic Fanvue: the same paths, OAuth flow, rate limits and error bodies, with "
        "a control API for faults. Prints the client id and secret, the control key and the seeded users.",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    sandbox.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one (default: %(default)s)")
    sandbox.add_argument("--seed", type=int, default=1, help="world seed: same seed, same data (default: 1)")
    sandbox.add_argument(
        "--start",
        type=_day,
        default=None,
        help="first day of history, YYYY-MM-DD (default: --days before today; fix it to get the same dates daily)",
    )
    sandbox.add_argument("--creators", type=_positive, default=3, help="creators in the agency (default: 3)")
    sandbox.add_argument("--fans", type=_positive, default=50, help="fans per creator (default: 50)")
    sandbox.add_argument("--days", type=_positive, default=365, help="days of history (default: 365)")
    sandbox.add_argument("--earnings-per-day", type=float, default=4.0, help="mean payments per creator per day")
    sandbox.add_argument("--team", type=int, default=2, help="team members besides the admin (default: 2)")
    sandbox.add_argument("--expires-in", type=_positive, default=3600, help="access token lifetime in seconds")
    sandbox.add_argument("--rate-limit", type=_positive, default=200, help="requests per key per window")
    sandbox.add_argument("--rate-window", type=_positive, default=60, help="rate-limit window in seconds")
    sandbox.add_argument("--latency", type=float, default=0.0, help="seconds added to every API answer")
    sandbox.add_argument("--client-id", default="onyx-sandbox-client", help="the registered OAuth client id")
    sandbox.add_argument("--client-secret", default=None, help="the client secret (default: a random one)")
    sandbox.add_argument("--redirect-uri", action="append", default=None, help="a registered redirect URI (repeatable)")
    sandbox.add_argument("--control-key", default=None, help="key for the /_sandbox control API (default: random)")
    sandbox.add_argument("--access-log", action="store_true", help="log every request")


def _day(text: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError("a date as YYYY-MM-DD") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a number of seconds") from None
    if not 0.1 <= value <= 86_400:
        raise argparse.ArgumentTypeError("between 0.1 and 86400 seconds")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def _run_sandbox(args: argparse.Namespace) -> int:
    from onyx_fanvue.sandbox.sandbox import DEFAULT_REDIRECT_URI, FanvueSandbox  # noqa: PLC0415
    from onyx_fanvue.sandbox.server import serve  # noqa: PLC0415
    from onyx_fanvue.sandbox.world import WorldSpec  # noqa: PLC0415

    spec = WorldSpec(
        seed=args.seed,
        creators=args.creators,
        fans_per_creator=args.fans,
        days=args.days,
        earnings_per_day=args.earnings_per_day,
        team_members=args.team,
        start=args.start,
    )
    sandbox = FanvueSandbox(
        spec=spec,
        expires_in=args.expires_in,
        rate_limit=args.rate_limit,
        rate_window_seconds=args.rate_window,
        latency=args.latency,
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_uris=args.redirect_uri or (DEFAULT_REDIRECT_URI,),
        control_key=args.control_key,
    )
    try:
        serve(sandbox, host=args.host, port=args.port, out=sys.stdout, access_log=args.access_log)
    except OSError as error:
        raise CommandError(
            f"cannot listen on {args.host}:{args.port} ({error.strerror or error}): choose another --port"
        ) from error
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    if args.rules:
        from onyx_adapters.cli.rules_demo import run_demo  # noqa: PLC0415 - keep `onyx --help` fast

        return asyncio.run(run_demo(sys.stdout, all_events=args.events))
    from onyx_adapters.cli.database import database_url  # noqa: PLC0415
    from onyx_adapters.cli.sandbox_demo import run_sandbox_demo  # noqa: PLC0415

    url = None if args.database_url is None else database_url(args.database_url, create=True)
    if args.once:
        return asyncio.run(run_sandbox_demo(sys.stdout, database_url=url, seed=args.seed))
    from onyx_adapters.cli.live_demo import LiveOptions, run_live_demo  # noqa: PLC0415

    options = LiveOptions(
        args.host,
        args.port,
        earn_every=args.earn_every,
        sync_every=args.sync_every,
        sandbox_control_key=args.sandbox_control_key,
    )
    return asyncio.run(run_live_demo(sys.stdout, options, database_url=url, seed=args.seed))


def _run_sync_command(args: argparse.Namespace) -> int:
    from onyx_adapters.cli import sync as cli_sync  # noqa: PLC0415

    run = {"connect": cli_sync.run_connect, "sync": cli_sync.run_sync, "schedule": cli_sync.run_schedule}
    return run[args.command](args)


def _run_worker_command(args: argparse.Namespace) -> int:
    from onyx_adapters.cli import worker as cli_worker  # noqa: PLC0415

    if args.command == "worker":
        return cli_worker.run_worker_command(args)
    return cli_worker.run_enqueue_command(args)


def _run_serve(args: argparse.Namespace) -> int:
    from onyx_adapters.cli.serve import run_serve  # noqa: PLC0415

    return run_serve(args)


def _run_users(args: argparse.Namespace) -> int:
    from onyx_adapters.cli.users import run_users_command  # noqa: PLC0415

    return run_users_command(args)


_COMMANDS = {
    "demo": _run_demo,
    "sandbox": _run_sandbox,
    "migrate": _run_migrate,
    "keys": _run_keys,
    "connect": _run_sync_command,
    "sync": _run_sync_command,
    "schedule": _run_sync_command,
    "worker": _run_worker_command,
    "enqueue": _run_worker_command,
    "serve": _run_serve,
    "users": _run_users,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``onyx`` command inside the error boundary (:mod:`onyx_adapters.cli.errors`): a failure is one line
    on stderr and a non-zero exit code, its traceback shown only with ``--debug``."""
    try:
        args = build_parser().parse_args(argv)
    except KeyboardInterrupt:  # Ctrl-C while the commands' modules load: one line, as inside the boundary
        sys.stderr.write("onyx: interrupted\n")
        return 130
    return run_command(_name(args), lambda: _COMMANDS[args.command](args), debug=args.debug)


def _name(args: argparse.Namespace) -> str:
    """The command as typed, for the error line: ``keys rotate``, ``connect agency``, ``sync``."""
    action = getattr(args, "keys_command", None) or getattr(args, "connect_kind", None)
    action = action or getattr(args, "enqueue_command", None) or getattr(args, "users_command", None)
    return f"{args.command} {action}" if action else str(args.command)
