"""A faithful local Kraken: seeded account history, REST, exports, WebSocket v2, faults, ground truth.

Public API: `create_app`, `SimConfig`, `ApiKey`, `derive_key`, `FaultSpec`, `parse_fault_spec`,
`ManualClock`, and `serve_in_thread` / `RunningSimulator` for tests that need a real socket.
The simulator imports starlette/uvicorn and `kraken_etl.core` only (never the db or kraken rings).
"""

from __future__ import annotations

from kraken_etl.core.clock import Clock, ManualClock, SystemClock
from kraken_etl.simulator.app import create_app
from kraken_etl.simulator.config import ALL_PERMISSIONS, ApiKey, SimConfig, derive_key
from kraken_etl.simulator.faults import FaultSpec, parse_fault_spec
from kraken_etl.simulator.server import RunningSimulator, serve_in_thread

__all__ = [
    "ALL_PERMISSIONS",
    "ApiKey",
    "Clock",
    "FaultSpec",
    "ManualClock",
    "RunningSimulator",
    "SimConfig",
    "SystemClock",
    "create_app",
    "derive_key",
    "parse_fault_spec",
    "serve_in_thread",
]
