"""Stored backfill plans: the planned steps of a request, kept until every step has loaded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from models import BackfillPlanRow


def open_plan(conn: Connection, account: str, request_key: str) -> tuple[int, list[dict[str, Any]], int] | None:
    """The newest unfinished plan of this request: (id, ranges, count calls), or None."""
    t = BackfillPlanRow
    row = conn.execute(
        select(t.id, t.ranges, t.count_calls)
        .where(t.account == account, t.request_key == request_key, t.finished_at.is_(None))
        .order_by(t.id.desc()).limit(1)
    ).first()
    return None if row is None else (int(row.id), list(row.ranges), int(row.count_calls))


def save_plan(conn: Connection, account: str, request_key: str, request: dict[str, Any],
              ranges: list[dict[str, Any]], count_calls: int) -> int:
    """Store a new plan; returns its id."""
    stmt = insert(BackfillPlanRow).values(account=account, request_key=request_key, request=request,
                                          ranges=ranges, count_calls=count_calls).returning(BackfillPlanRow.id)
    return int(conn.execute(stmt).scalar_one())


def finish_plan(conn: Connection, plan_id: int) -> None:
    """Mark a plan done (every step loaded): the next identical request plans afresh."""
    conn.execute(update(BackfillPlanRow).where(BackfillPlanRow.id == plan_id).values(finished_at=func.now()))
