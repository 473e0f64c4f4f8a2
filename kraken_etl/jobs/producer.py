"""A file load's Python half (read, parse, validate, build COPY text), computed a batch ahead.

`MODE` says where: ``"thread"`` (the default: `fileload.read_ahead`, a worker thread, with the GIL switch
interval lowered while it runs), ``"process"`` (a forked child process: the two halves then share no GIL)
or ``"inline"`` (no overlap: benchmarks use it to time each step).

The process mode is measured but not the default: on the shared 2-core machine it gave no consistent gain over the
thread (1M rows: 76 s vs 69 s; 2M: 90 s vs 135 s, in runs whose load average differed), and forking a
process that has other threads (a Prefect worker, a served simulator) can inherit a lock another thread held
at that moment. In it, the child is forked, so it starts at once with the parent's modules; it runs
`make_items` and sends each item back through a pipe, which holds one item at most (the child blocks until
the parent takes it), so memory stays at about two batches. An exception in the child is raised in the
parent when its item is due; if the parent stops early, the child is ended. Where forking is not possible
(a daemonic process) the thread is used.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")

MODE = "thread"


def _child(make_items: Callable[[], Iterator[Any]], send: Connection) -> None:
    try:
        for item in make_items():
            send.send(("item", item))
        send.send(("end", None))
    except BaseException as exc:
        try:
            pickle.dumps(exc)
        except Exception:
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        send.send(("error", exc))
    finally:
        send.close()


def produce(make_items: Callable[[], Iterator[T]], read_ahead: Callable[[Iterator[T]], Iterator[T]],
            mode: str | None = None) -> Iterator[T]:
    """The items of `make_items()`, computed a step ahead (see the module docstring).

    `mode` defaults to `MODE`; `read_ahead` is the thread way. Raises whatever computing an item raised.
    """
    mode = mode or MODE
    if mode == "inline":
        yield from make_items()
        return
    if mode == "thread" or multiprocessing.current_process().daemon or not hasattr(os, "fork"):
        yield from read_ahead(make_items())
        return
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(make_items, send), name="kraken-etl-prepare", daemon=True)
    child.start()
    send.close()
    try:
        while True:
            try:
                kind, item = receive.recv()
            except EOFError:
                raise RuntimeError(f"the prepare process ended without a result (exit code {child.exitcode})"
                                   ) from None
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        receive.close()
        if child.is_alive():
            child.terminate()
        child.join()
