"""Running the app under uvicorn: on its own port, or on a listening socket inherited from systemd.

Under systemd the socket unit owns the listening socket and passes it to the service as fd 3
(`legacy-api serve --fd 3`). A restart then refuses no connection: while no process serves the socket, new
connections wait in its backlog for the next one. What is left is the stop itself, handled by DrainingServer.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import uvicorn

DRAIN_SECONDS = 0.5
# Seconds an idle client connection is kept open: longer than a reverse proxy keeps its idle upstream connections
# (nginx: 30 s as the nginx role configures it), so the proxy never reuses a connection this server is closing.
KEEP_ALIVE_SECONDS = 75
STARTUP_FAILURE = 3  # uvicorn's exit status when the server could not start


class DrainingServer(uvicorn.Server):
    """uvicorn's server, stopping without dropping connections it has already accepted.

    On shutdown uvicorn stops accepting and at once closes every connection with no request in progress,
    including connections accepted a moment ago whose request it has not read yet: their clients see a reset.
    This server first stops accepting, then lets the event loop read what it already accepted for
    `drain_seconds`; those requests are then in progress and uvicorn's own shutdown waits for their responses.
    Connections not accepted yet stay in the listening socket's backlog for the next process.
    """

    def __init__(self, config: uvicorn.Config, drain_seconds: float = DRAIN_SECONDS) -> None:
        super().__init__(config)
        self.drain_seconds = drain_seconds

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # stop accepting; the inherited socket itself stays open in the parent
        if not self.force_exit:
            await asyncio.sleep(self.drain_seconds)
        await super().shutdown(sockets)


def config(
    app: object, *, host: str = "127.0.0.1", port: int = 8000, fd: int | None = None, log_level: str = "info"
) -> uvicorn.Config:
    """uvicorn's settings for the service: one worker, long keep-alive, and proxy headers never trusted.

    With `proxy_headers=False` (and no forwarded-allow address, whatever FORWARDED_ALLOW_IPS says) the client
    address a route sees is always the real peer of the connection, which the loopback-only admin endpoints
    rely on: a client address taken from X-Forwarded-For would let any caller that reaches the port claim to be
    127.0.0.1.
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        fd=fd,
        workers=1,
        log_level=log_level,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        proxy_headers=False,
        forwarded_allow_ips=[],
    )


def run(
    app: object,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    fd: int | None = None,
    log_level: str = "info",
    drain_seconds: float = DRAIN_SECONDS,
) -> int:
    """Serve `app` with one worker (DuckDB has a single writer) until SIGTERM or SIGINT; return an exit status.

    With `fd`, serve that already listening socket (host and port are then not used).
    """
    server = DrainingServer(config(app, host=host, port=port, fd=fd, log_level=log_level), drain_seconds=drain_seconds)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises a SIGINT it handled once it has shut down
        server.run()
    return 0 if server.started else STARTUP_FAILURE
