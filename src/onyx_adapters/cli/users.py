"""``onyx users create-owner``: the first run of the web service. Onyx ships no default account or password; the
first owner (and her agency) is created here, with a password typed at a prompt (twice) or read from standard
input with ``--password-stdin`` (for scripts). A password is never an argument: it would sit in the shell's history
and the process list."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from onyx_adapters.cli.errors import CommandError

__all__ = ["add_users_commands", "run_users_command"]


def add_users_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = commands.add_parser(
        "users",
        help="manage the people who sign in to the web service",
        description="Accounts of the web service. `create-owner` is the first-run path: it creates an agency and "
        "its first owner, who then invites everyone else from the web.",
    )
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    owner = actions.add_parser(
        "create-owner",
        help="create an agency and its first owner",
        description="Creates an agency and its first owner (or, with --agency-id, the first owner of an agency "
        "`onyx demo` or `onyx connect` made). The password is asked for twice at a prompt, or read "
        "from the first line of standard input with --password-stdin; at least 12 characters.",
    )
    agency = owner.add_mutually_exclusive_group(required=True)
    agency.add_argument("--agency", help="the new agency's name")
    agency.add_argument(
        "--agency-id",
        help="an agency already in the database with no members yet (e.g. `sandbox-agency`, the one `onyx demo` "
        "syncs): its first owner",
    )
    owner.add_argument("--email", required=True, help="the owner's email address (her login)")
    owner.add_argument("--name", required=True, help="the owner's display name")
    owner.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    owner.add_argument(
        "--database-url",
        default=None,
        help="sqlite:///path/to/onyx.db or postgresql://user:password@host/db",  # pragma: allowlist secret
    )


def _password(*, from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        if not sys.stdin.isatty():
            raise CommandError("no terminal to ask the password at: pipe it in with --password-stdin")
        password = getpass.getpass("password: ")
        if getpass.getpass("password again: ") != password:
            raise CommandError("the two passwords differ; nothing was created")
    if not password:
        raise CommandError("no password given; nothing was created")
    return password


def run_users_command(args: argparse.Namespace) -> int:
    from onyx_adapters.accounts import accounts_deps  # noqa: PLC0415 - keep `onyx --help` fast
    from onyx_adapters.cli.database import database_url  # noqa: PLC0415
    from onyx_adapters.crypto import FernetCipher, check_stored_tokens  # noqa: PLC0415
    from onyx_adapters.settings import OnyxSettings  # noqa: PLC0415
    from onyx_adapters.sql.engine import create_engine  # noqa: PLC0415
    from onyx_adapters.sql.migrate import check_database  # noqa: PLC0415
    from onyx_core.accounts import create_owner  # noqa: PLC0415
    from onyx_core.accounts.errors import WeakPassword  # noqa: PLC0415
    from onyx_core.accounts.ports import DuplicateEmailError  # noqa: PLC0415
    from onyx_core.errors import DomainValueError, NotFoundError  # noqa: PLC0415
    from onyx_core.ids import AgencyId  # noqa: PLC0415

    cipher = FernetCipher.from_settings(OnyxSettings())
    url = database_url(args.database_url)

    async def check() -> None:  # before asking anything: a bad setting is said at once and nothing is written
        engine = create_engine(url)
        try:
            await check_database(engine)
            # a ring that reads none of the stored secrets is the wrong ring: never add secrets under it
            await check_stored_tokens(engine, cipher, only_if_none_decrypts=True)
        finally:
            await engine.dispose()

    asyncio.run(check())
    password = _password(from_stdin=args.password_stdin)

    async def create() -> str:
        engine = create_engine(url)
        try:
            deps = accounts_deps(engine, cipher)
            member = await create_owner(
                deps,
                agency_name=args.agency or "",
                email=args.email,
                display_name=args.name,
                password=password,
                agency_id=AgencyId(args.agency_id) if args.agency_id else None,
            )
        except WeakPassword as error:
            raise CommandError(f"{error}; nothing was created") from None
        except DuplicateEmailError:
            raise CommandError(f"{args.email} already has an account; nothing was created") from None
        except (DomainValueError, NotFoundError) as error:
            raise CommandError(f"{error}; nothing was created") from None
        finally:
            await engine.dispose()
        if args.agency_id:
            return f"agency {args.agency_id!r} has its first owner: {member.email} (member {member.id})"
        return f"created agency {args.agency!r} and its owner {member.email} (member {member.id})"

    sys.stdout.write(asyncio.run(create()) + "\n")
    sys.stdout.write("sign in at the web service (`onyx serve`) and enrol two-factor authentication first\n")
    return 0
