"""The WebSocket v2 listener: every execution and balance update stored once, gaps filled from REST.

`config` (knobs), `batch` (messages → records → one transaction), `gapfill` (REST windows over missed
intervals through the nightly sync's `run_window`), `loop` (`Listener`: connect, subscribe, consume,
detect gaps, reconnect with backoff), `run` (accounts, signals), `check` (WS ↔ REST reconciliation).
"""
