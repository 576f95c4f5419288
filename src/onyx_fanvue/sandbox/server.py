"""Serve a sandbox on a real socket (``onyx sandbox``): a banner with everything a client needs, then uvicorn."""

from __future__ import annotations

import socket
from typing import TextIO

import uvicorn

from onyx_fanvue.sandbox.sandbox import FanvueSandbox

__all__ = ["banner", "bind", "serve"]


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (``port`` 0 picks a free one), bound before the banner so the banner tells the truth."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def banner(sandbox: FanvueSandbox, base_url: str) -> str:
    """What a developer needs to point a client at this sandbox. The secrets are printed on purpose: the sandbox
    holds no real data and this is the only place to learn them."""
    spec = sandbox.spec
    lines = [
        f"Fanvue sandbox (seed {spec.seed}: {spec.creators} creators, {spec.days} days) at {base_url}",
        "",
        f"  API base URL      {base_url}            (send X-Fanvue-API-Version: {sandbox.api_versions[0]})",
        f"  authorize URL     {base_url}/oauth2/auth   (add login_hint=<handle> to approve without the page)",
        f"  token URL         {base_url}/oauth2/token",
        f"  revoke URL        {base_url}/oauth2/revoke",
        f"  client id         {sandbox.client_id}",
        f"  client secret     {sandbox.client_secret}",
        f"  redirect URIs     {' '.join(sandbox.redirect_uris)}",
        f"  control API       {base_url}/_sandbox   (header X-Sandbox-Key: {sandbox.control_key})",
        "",
        "  users (sign in with login_hint=<handle>):",
    ]
    width = max(len(u.handle) for u in sandbox.users)
    lines += [f"    {u.handle:<{width}}  {u.role:<12}  {u.uuid}" for u in sandbox.users]
    return "\n".join(lines) + "\n"


def serve(
    sandbox: FanvueSandbox, *, host: str = "127.0.0.1", port: int = 8765, out: TextIO, access_log: bool = False
) -> None:
    """Print the banner and serve until interrupted."""
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    out.write(banner(sandbox, f"http://{shown}:{bound_port}"))
    out.flush()
    config = uvicorn.Config(
        sandbox.app,
        log_level="info" if access_log else "warning",
        access_log=access_log,
        lifespan="off",
    )
    uvicorn.Server(config).run(sockets=[sock])
