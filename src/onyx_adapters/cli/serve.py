"""``onyx serve``: the web service on uvicorn.

The settings are checked here first, inside the CLI's error boundary, so a missing key or an unmigrated database is
one line and exit code 1 rather than a server that starts and fails every request. uvicorn then imports the app by
name (``onyx_web.app:create_app_from_env``, a factory): nothing in the adapters imports the web app.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys

from onyx_adapters.cli.errors import CommandError

__all__ = ["APP_FACTORY", "add_serve_command", "bind", "redact_server_logs", "run_serve", "shown_address"]

APP_FACTORY = "onyx_web.app:create_app_from_env"


def add_serve_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve the web app (API, health, readiness) on uvicorn",
        description="Serves the Onyx web app from the ONYX_* settings: ONYX_DATABASE_URL (migrated with `onyx "
        "migrate`) and ONYX_CIPHER_KEYS are needed; without the ONYX_FANVUE_* app registration it serves everything "
        "but connecting Fanvue. GET /healthz answers while the process serves, GET /readyz while the database "
        "answers at the current schema; the OpenAPI document is at /schema.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="port; 0 picks a free one (default: %(default)s)")
    serve.add_argument("--access-log", action="store_true", help="log every request")


def run_serve(args: argparse.Namespace) -> int:
    from onyx_adapters.cli.database import database_url  # noqa: PLC0415 - keep `onyx --help` fast
    from onyx_adapters.crypto import FernetCipher  # noqa: PLC0415
    from onyx_adapters.runtime import FanvueApp  # noqa: PLC0415
    from onyx_adapters.settings import ConfigurationError, OnyxSettings  # noqa: PLC0415
    from onyx_adapters.sql.engine import create_engine  # noqa: PLC0415
    from onyx_adapters.sql.migrate import check_database  # noqa: PLC0415

    settings = OnyxSettings()
    url = database_url(None)
    FernetCipher.from_settings(settings)  # the web stores secrets encrypted: no keys, no start

    async def check() -> None:
        engine = create_engine(url)
        try:
            await check_database(engine)
        finally:
            await engine.dispose()

    asyncio.run(check())
    try:
        FanvueApp.from_settings(settings)
        fanvue = "Fanvue connect: configured"
    except ConfigurationError:
        fanvue = "Fanvue connect: not configured (set ONYX_FANVUE_CLIENT_ID and ONYX_FANVUE_CLIENT_SECRET)"
    return _serve(args.host, args.port, fanvue, access_log=args.access_log)


def redact_server_logs() -> None:
    """uvicorn's logs scrubbed of secrets, and URLs in its access log redacted."""
    from onyx_adapters.access_log import AccessLogRedactor  # noqa: PLC0415
    from onyx_fanvue.redaction import install_log_filter  # noqa: PLC0415

    install_log_filter("uvicorn.error")  # uvicorn's own tracebacks (an app failing outside its handlers), scrubbed
    # a URL can carry a secret (an OAuth code, an invitation token): the access log shows neither
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogRedactor) for f in access.filters):
        access.addFilter(AccessLogRedactor())
    install_log_filter("uvicorn.access")


def shown_address(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket (an IPv6 host in brackets)."""
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    return f"http://{shown}:{bound_port}"


def _serve(host: str, port: int, fanvue: str, *, access_log: bool) -> int:
    import uvicorn  # noqa: PLC0415

    redact_server_logs()
    sock = bind(host, port)
    sys.stdout.write(f"Onyx web at {shown_address(sock)} (health /healthz, readiness /readyz, API /schema)\n")
    sys.stdout.write(f"{fanvue}\n")
    sys.stdout.flush()
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        lifespan="on",
        log_level="info" if access_log else "warning",
        access_log=access_log,
        server_header=False,  # no product banner in every answer
    )
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except SystemExit as stop:  # uvicorn exits when the app cannot be loaded or its startup fails
        raise CommandError("the web app did not start (its log above says why)") from stop
    finally:
        sock.close()
    return 0


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, bound before the banner so the banner tells the truth (``port`` 0: a free one); a
    :class:`CommandError` when it cannot be had."""
    try:
        return _bind(host, port)
    except OSError as error:
        reason = error.strerror or error
        raise CommandError(f"cannot listen on {host}:{port} ({reason}): choose another --port") from error


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
