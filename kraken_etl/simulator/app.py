"""`create_app(config)`: the simulator as one Starlette ASGI application.

Routes: Kraken REST at ``/0/private/*`` and ``/0/public/*``, WebSocket v2 at ``/v2`` (python-kraken-sdk
appends ``/v2`` to the base URL), admin at ``/_sim/*``. A private call reaches the account its ``API-Key``
names, an admin call the one ``?account=i`` names (`kraken_etl.simulator.fleet`). Usable in-process with
``httpx.ASGITransport`` (REST) or served by uvicorn (`kraken_etl.simulator.server`).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute

from kraken_etl.simulator import admin, rest, ws
from kraken_etl.simulator.config import SimConfig
from kraken_etl.simulator.fleet import SimFleet


def create_app(config: SimConfig | None = None) -> Starlette:
    """Build the accounts from `config` (account 0 is generated here, the others on first use) and return
    the ASGI app.

    The first account's context is ``app.state.sim`` (a `SimContext`); every account's is reached through
    ``app.state.fleet`` (a `SimFleet`).

    Raises:
        ValueError: for an invalid configuration.
    """
    fleet = SimFleet(config or SimConfig())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for index in fleet.built():
            shutil.rmtree(fleet.for_index(index).exports.dir, ignore_errors=True)

    app = Starlette(
        routes=[*rest.ROUTES, WebSocketRoute("/v2", ws.endpoint), *admin.ROUTES],
        lifespan=lifespan,
    )
    app.state.sim = fleet.primary
    app.state.fleet = fleet
    return app
