"""The station under waitress, a production WSGI server (never Flask's development one).

``Server`` binds when it is made (port 0 picks a free one) and then runs either in the
foreground until SIGTERM or Ctrl-C (``serve_forever``, the command) or in a thread
(``start``/``stop``, the tests). Stopping must also close the connections a browser
keeps alive, or waitress would wait for them for minutes; that is done inside
waitress's own loop thread, the one safe place.

Behind a reverse proxy, ``trusted_proxy`` names the proxy's address: only from there
are ``X-Forwarded-Proto``/``-Host``/``-For`` believed (waitress drops them from anyone
else), so the station knows it is served over https and who the client is.
"""

from __future__ import annotations

import ipaddress
import signal
import sys
import threading
from typing import Any

import waitress
from waitress import wasyncore

PROXY_HEADERS = {"x-forwarded-proto", "x-forwarded-host", "x-forwarded-for"}


def is_loopback(host: str) -> bool:
    """Whether ``host`` can only be reached from this machine (a name other than
    ``localhost`` counts as reachable from elsewhere: it may resolve anywhere)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Server:
    """waitress serving ``app`` on ``host:port``."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        threads: int = 4,
        trusted_proxy: str | None = None,
        url_prefix: str = "",
    ) -> None:
        host = "127.0.0.1" if host == "localhost" else host.strip("[]")  # one socket
        options: dict[str, Any] = {
            "threads": threads,
            "ident": "prodsheets",
            "channel_timeout": 60,
            "url_prefix": url_prefix,
        }
        if trusted_proxy:
            options |= {
                "trusted_proxy": trusted_proxy,
                "trusted_proxy_count": 1,
                "trusted_proxy_headers": PROXY_HEADERS,
            }
        self._server = waitress.create_server(app, host=host, port=port, **options)
        self.host = str(self._server.effective_host)
        self.port = int(self._server.effective_port)  # a str in waitress 3
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve until SIGTERM or Ctrl-C; requests being answered are finished first."""
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        try:
            self._server.run()  # returns on SystemExit or KeyboardInterrupt
        finally:
            signal.signal(signal.SIGTERM, previous)
            self._server.task_dispatcher.shutdown()
            wasyncore.close_all(self._server._map)

    def start(self) -> Server:
        self._thread = threading.Thread(target=self._server.run, name="station", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        server = self._server
        server.task_dispatcher.shutdown()  # answers being written are finished
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
