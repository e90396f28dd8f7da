"""uvicorn entry point for the legacy service under systemd socket activation.

`legacy-api serve` binds its own port; under systemd the listening socket is handed over as fd 3, so the unit
starts uvicorn directly (`uvicorn --fd 3 --factory legacy_asgi:create`) with this factory, which builds the app
exactly as `legacy-api serve` does, from the LEGACY_* environment. Installed by the legacy_api role.

Graceful restart: on shutdown uvicorn stops accepting and at once closes every connection without a request in
progress, including ones it accepted a moment ago whose request it has not read yet; their clients see a reset.
The listening socket stays with systemd, so the only loss is that race: `_drain_then_shutdown` stops accepting
first and lets the event loop read what was already accepted before uvicorn's own shutdown runs.
"""

import asyncio
import logging
import os

from fastapi import FastAPI
from legacy_api.app import create_app
from legacy_api.settings import Settings
from uvicorn.server import Server

DRAIN_SECONDS = 0.5
_uvicorn_shutdown = Server.shutdown


async def _drain_then_shutdown(self: Server, sockets: list | None = None) -> None:
    for server in getattr(self, "servers", []):
        server.close()
    await asyncio.sleep(DRAIN_SECONDS)
    await _uvicorn_shutdown(self, sockets)


def create() -> FastAPI:
    logging.basicConfig(
        level=os.environ.get("LEGACY_LOG_LEVEL", "info").upper(),
        format="%(levelname)s %(name)s %(message)s",
    )
    Server.shutdown = _drain_then_shutdown
    return create_app(Settings.from_env())
