"""`create_app(config)`: the simulator as one Starlette ASGI application.

Routes: Kraken REST at ``/0/private/*`` and ``/0/public/*``, WebSocket v2 at ``/v2`` (python-kraken-sdk
appends ``/v2`` to the base URL), admin at ``/_sim/*``. Usable in-process with ``httpx.ASGITransport``
(REST) or served by uvicorn (`kraken_etl.simulator.server`).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute

from kraken_etl.simulator import admin, rest, ws
from kraken_etl.simulator.config import SimConfig
from kraken_etl.simulator.context import SimContext


def create_app(config: SimConfig | None = None) -> Starlette:
    """Build the account from `config` (generation happens here) and return the ASGI app.

    The context is available as ``app.state.sim`` (a `SimContext`).

    Raises:
        ValueError: for an invalid configuration.
    """
    ctx = SimContext(config or SimConfig())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        shutil.rmtree(ctx.exports.dir, ignore_errors=True)

    app = Starlette(
        routes=[*rest.ROUTES, WebSocketRoute("/v2", ws.endpoint), *admin.ROUTES],
        lifespan=lifespan,
    )
    app.state.sim = ctx
    return app
