"""The plans of every statement a piece of product code runs, as it runs them: PostgreSQL's `auto_explain`
(shipped with the server) set on each connection of an engine, its plans sent to the client as notices.

    plans = capture(engine, min_ms=20)   # then run the product code on `engine`
    heaviest(plans)                      # the statements by duration, each with its costliest plan nodes

Each plan is EXPLAIN (ANALYZE, BUFFERS) of the statement as executed, nested statements (inside SQL
functions) included; timing every node slows the statements a little, so read the durations as relative.
Loading the module needs a superuser (the benchmark's scratch database on the embedded cluster is one).
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import Engine, event

SETTINGS = ("LOAD 'auto_explain'", "SET auto_explain.log_analyze = on", "SET auto_explain.log_buffers = on",
            "SET auto_explain.log_nested_statements = on", "SET auto_explain.log_format = json",
            "SET auto_explain.log_level = notice", "SET client_min_messages = notice")
_HEAD = re.compile(r"duration: ([0-9.]+) ms\s+plan:\s*", re.S)


def capture(engine: Engine, *, min_ms: float) -> list[dict[str, Any]]:
    """Turn auto_explain on for every connection `engine` opens from now on (statements of at least `min_ms`);
    return the list the plans are appended to, as {"ms": duration, "plan": auto_explain's JSON}."""
    found: list[dict[str, Any]] = []

    def on_notice(diag: Any) -> None:
        text = diag.message_primary or ""
        head = _HEAD.match(text)
        if head:
            found.append({"ms": float(head.group(1)), "plan": json.loads(text[head.end():])})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.add_notice_handler(on_notice)
        with dbapi_connection.cursor() as cursor:
            for statement in (*SETTINGS, f"SET auto_explain.log_min_duration = {float(min_ms)}"):
                cursor.execute(statement)
        dbapi_connection.commit()

    return found


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of a plan with its own time (its total, over its loops, less its children's)."""
    children = node.get("Plans", [])
    total = node.get("Actual Total Time", 0.0) * node.get("Actual Loops", 1)
    below = sum(c.get("Actual Total Time", 0.0) * c.get("Actual Loops", 1) for c in children)
    own = {"node": node["Node Type"], "own_ms": round(max(0.0, total - below), 1),
           "rows": node.get("Actual Rows"), "loops": node.get("Actual Loops"),
           **{k.lower().replace(" ", "_"): node[k] for k in ("Relation Name", "Index Name", "Index Cond",
                                                           "Filter", "Rows Removed by Filter", "Sort Method",
                                                           "Hash Cond", "Join Type") if k in node}}
    return [own, *(n for c in children for n in _nodes(c))]


def heaviest(plans: list[dict[str, Any]], *, top: int = 12) -> list[dict[str, Any]]:
    """The `top` statements by duration: their text (whitespace folded, cut at 600 characters), duration, shared
    buffers hit and read, and their three costliest nodes."""
    out = []
    for entry in sorted(plans, key=lambda p: p["ms"], reverse=True)[:top]:
        plan = entry["plan"]
        root = plan["Plan"]
        nodes = sorted(_nodes(root), key=lambda n: n["own_ms"], reverse=True)[:3]
        out.append({"ms": round(entry["ms"], 1), "query": " ".join(plan.get("Query Text", "").split())[:600],
                    "shared_hit_blocks": root.get("Shared Hit Blocks"),
                    "shared_read_blocks": root.get("Shared Read Blocks"),
                    "temp_written_blocks": root.get("Temp Written Blocks"), "costliest_nodes": nodes})
    return out
