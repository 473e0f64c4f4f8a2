"""Progress events: the one `Progress` callback type every job reports through (CLI bars, flow logs).

`kind` is ``fetch`` (REST records paged so far), ``status`` (a step or state change), ``poll``,
``download``, ``load`` (a file's bytes read so far), ``note`` (one line for the person running the
command, e.g. a new account announced) or ``done``. `done`/`total` are counts for ``fetch`` and
bytes for ``download``/``load``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    message: str
    stream: str | None = None
    job_id: int | None = None
    done: int = 0
    total: int | None = None


Progress = Callable[[Event], None]


def quiet_progress(event: Event) -> None:
    log.debug("%s: %s", event.kind, event.message)
