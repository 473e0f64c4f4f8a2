"""A file load's Python half (read, parse, validate, build COPY text), computed a batch ahead.

`read_ahead` computes the next item in a worker thread while the caller stores the current one. `MODE`
``"inline"`` turns the overlap off (the import benchmark uses it to time each step on its own).

A forked child process was measured as an alternative and dropped: on a 2-core machine it gave no
consistent gain over the thread, and forking a process that has other threads (a Prefect worker, a served
simulator) can inherit a lock another thread held at that moment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar, cast

from kraken_etl.core.switching import lowered_switch_interval

T = TypeVar("T")

MODE: Literal["thread", "inline"] = "thread"
SWITCH_INTERVAL = 0.0005  # seconds
_END: Any = object()


def produce(make_items: Callable[[], Iterator[T]]) -> Iterator[T]:
    """The items of `make_items()`, computed one ahead unless `MODE` is ``"inline"``.

    Raises whatever computing an item raised, when that item is due.
    """
    if MODE == "inline":
        yield from make_items()
    else:
        yield from read_ahead(make_items())


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """Yield the items of `items`, computing the next one in a worker thread while the caller handles
    the current one (one item ahead: memory stays at two batches).

    `items` is only ever advanced by one thread at a time; an exception raised while computing an item is
    raised here, in the caller's thread, when that item is due. If the caller stops early, the item in
    flight is finished and dropped.

    While it runs, the interpreter's thread switch interval is lowered to `SWITCH_INTERVAL` (restored
    after): the caller's thread streams COPY data and needs the GIL briefly each time the socket drains;
    at the default 5 ms it waits behind the CPU-bound worker each time, and the server idles meanwhile.
    """
    with lowered_switch_interval(SWITCH_INTERVAL), \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="kraken-etl-read-ahead") as pool:
        upcoming = pool.submit(next, items, _END)
        while True:
            item = upcoming.result()
            if item is _END:
                return
            upcoming = pool.submit(next, items, _END)
            yield cast("T", item)
