"""A file load's Python half (read, parse, validate, build COPY text) in a child process, a batch ahead.

The parent only streams each batch's COPY text to the database and writes quarantine and counts, so the
two halves run on two cores without sharing a GIL. (A worker *thread* shares it: the thread that streams
COPY data then waits behind the CPU-bound one each time the socket drains, and the server idles.)

The child is forked, so it starts at once with the parent's modules; it opens the file itself, runs
`make_items` and sends each item back through a pipe. The pipe holds one item at most: the child blocks
until the parent takes it, so memory stays at about two batches. An exception in the child is raised in
the parent when its item is due (as `read_ahead` does); if the parent stops early, the child is ended.
Where forking is not possible (a daemonic process, e.g. some pool workers) the thread `read_ahead` is used.
`MODE` ("process", "thread" or "inline") is for benchmarks that time the steps one after the other.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")

MODE = "process"


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
