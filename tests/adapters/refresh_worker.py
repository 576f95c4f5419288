"""One worker process of the T2 test: ``threads`` concurrent API calls through ``RefreshingAuth`` on a shared
``SqlTokenStore``. Prints ``ready``, waits for a line on stdin (so that all processes start together), then prints
one JSON line: how many calls succeeded, the errors, and the SHA-256 of every access token sent."""

from __future__ import annotations

import hashlib
import json
import sys
import threading

import httpx

from onyx_adapters.sql.token_store import SqlTokenStore
from onyx_core.testing.fakes import ReversibleCipher
from onyx_fanvue import FanvueClient, RetryPolicy
from onyx_fanvue.oauth import OAuthClient, RefreshingAuth


class Recording(httpx.HTTPTransport):
    """Remembers (a digest of) the bearer token of every API request."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        with self._lock:
            self.sent.append(hashlib.sha256(bearer.encode()).hexdigest())
        return super().handle_request(request)


def main() -> int:
    config = json.loads(sys.argv[1])
    base, threads = config["base"], int(config["threads"])
    store = SqlTokenStore(config["url"], config["connection_id"], ReversibleCipher())
    oauth = OAuthClient(
        config["client_id"], config["secret"], "http://127.0.0.1:9/callback", token_url=f"{base}/oauth2/token"
    )
    transport = Recording()
    client = FanvueClient(
        auth=RefreshingAuth(oauth, store),
        base_url=base,
        transport=transport,
        retry=RetryPolicy(max_retries=0),
        rate_limited=False,
    )
    barrier = threading.Barrier(threads)
    ok: list[str] = []
    errors: list[str] = []

    def call() -> None:
        barrier.wait()
        try:
            ok.append(client.users.me().handle)
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}")

    workers = [threading.Thread(target=call) for _ in range(threads)]
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    client.close()
    oauth.close()
    store.close()
    sys.stdout.write(json.dumps({"ok": len(ok), "errors": errors, "sent": transport.sent}) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
