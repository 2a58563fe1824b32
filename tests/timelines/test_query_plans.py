"""The timeline and notification reads walk an index in their sort order (newest first)
instead of sorting a scanned table, on a table large enough for the planner to choose
freely: the statements the API really runs are captured and EXPLAINed on the engine under
test (PostgreSQL: EXPLAIN (FORMAT JSON); SQLite: EXPLAIN QUERY PLAN)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import event, func, insert, select, text

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.notifications.models import Notification
from connecthub.relationships.models import Follow
from connecthub.statuses.models import Status, StatusTag, Tag, Visibility
from connecthub.timelines.models import HOME_KIND
from tests.social_factories import auth, user_with_token
from tests.support.bulk import insert_rows
from tests.timelines.support import settle

AUTHORS = 60
STATUSES = 30_000
NOTIFICATIONS = 10_000
MAIN_TABLES = ("statuses", "notifications")


async def _seed(app: FastAPI, viewer_id: int) -> list[int]:
    """Authors (the viewer follows a third of them), their statuses and the viewer's
    notifications, in bulk; then fresh planner statistics."""
    now = utcnow()
    authors = [new_id() for _ in range(AUTHORS)]
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            insert(Account),
            [
                {"id": a, "username": f"p{n}", "username_key": f"p{n}", "created_at": now}
                for n, a in enumerate(authors)
            ],
        )
        await session.execute(
            insert(Follow),
            [
                {"id": new_id(), "account_id": viewer_id, "target_account_id": a}
                for a in authors[: AUTHORS // 3]
            ],
        )
        rows = []
        for n in range(STATUSES):
            status_id = new_id()
            rows.append(
                {
                    "id": status_id,
                    "account_id": authors[n % AUTHORS],
                    "text": "x",
                    "content": "<p>x</p>",
                    "visibility": int(Visibility.PUBLIC if n % 5 else Visibility.PRIVATE),
                    "created_at": now,
                    "conversation_id": status_id,
                }
            )
        await insert_rows(session, Status, rows)
        await insert_rows(
            session,
            Notification,
            [
                {
                    "id": new_id(),
                    "account_id": viewer_id,
                    "from_account_id": authors[n % AUTHORS],
                    "type": "follow",
                    "activity_id": n,
                }
                for n in range(NOTIFICATIONS)
            ],
        )
    async with app.state.engines.db.primary.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    return authors


@contextmanager
def capturing(app: FastAPI) -> Iterator[list[tuple[str, Any]]]:
    """Every (statement, parameters) the app runs inside the block."""
    seen: list[tuple[str, Any]] = []
    db = app.state.engines.db
    engines = [db.primary.sync_engine, *(e.sync_engine for e in db.replicas)]

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append((statement, parameters))

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def _paged_reads(seen: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The statements that read a page of a main table: FROM it, ORDER BY, LIMIT. A home
    feed's rebuild is left out: it sorts the newest ids of each followed account in a slice
    of time, on purpose, and test_feed_rebuild_bounded checks how much it reads; so is a
    page of given ids (`_driven_by_ids`), which sorts the few it finds."""
    found = []
    for statement, parameters in seen:
        flat = " ".join(statement.split()).lower()
        if (
            "join lateral" not in flat
            and not _driven_by_ids(flat)
            and "order by" in flat
            and "limit" in flat
            and any(
                f"from {table} " in flat or flat.endswith(f"from {table}") for table in MAIN_TABLES
            )
        ):
            found.append((statement, parameters))
    return found


def _driven_by_ids(flat: str) -> bool:
    """A read of statuses by a list of ids (home's page of feed entries on PostgreSQL)."""
    return "from unnest(" in flat and "join statuses on statuses.id = wanted.id" in flat


def _outer_scans(node: dict[str, Any], relation: str) -> list[dict[str, Any]]:
    """The plan's nodes reading `relation`, subqueries (EXISTS, IN) left out."""
    found = [node] if node.get("Relation Name") == relation else []
    for child in node.get("Plans", []):
        if child.get("Parent Relationship") not in ("SubPlan", "InitPlan"):
            found += _outer_scans(child, relation)
    return found


def _pg_problems(node: dict[str, Any], under_sort: bool = False) -> list[str]:
    kind = node.get("Node Type", "")
    relation = node.get("Relation Name", "")
    problems = []
    if relation in MAIN_TABLES and kind == "Seq Scan":
        problems.append(f"seq scan on {relation}")
    if relation in MAIN_TABLES and under_sort:
        problems.append(f"sort over a scan of {relation} ({kind})")
    sorting = under_sort or kind in ("Sort", "Incremental Sort")
    for child in node.get("Plans", []):
        # A sort above a subquery (an EXISTS or IN on another table) is not the page's sort.
        if child.get("Parent Relationship") in ("SubPlan", "InitPlan"):
            problems += _pg_problems(child, under_sort=False)
        else:
            problems += _pg_problems(child, under_sort=sorting)
    return problems


async def _plan_problems(app: FastAPI, statement: str, parameters: Any) -> tuple[list[str], str]:
    async with app.state.engines.db.primary.connect() as connection:
        if app.state.engines.db.is_sqlite:
            rows = (
                await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            ).all()
            plan = "\n".join(str(row[-1]) for row in rows)
            problems = []
            for line in plan.splitlines():
                if "TEMP B-TREE FOR ORDER BY" in line or "TEMP B-TREE FOR RIGHT PART" in line:
                    problems.append(line)
                for table in MAIN_TABLES:
                    if line.strip() == f"SCAN {table}":
                        problems.append(line)
            return problems, plan
        await connection.exec_driver_sql("SET LOCAL enable_seqscan = on")
        result = await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
        raw = result.scalar_one()
        document = json.loads(raw) if isinstance(raw, str) else raw
        return _pg_problems(document[0]["Plan"]), json.dumps(document, indent=1)


@pytest.mark.slow
async def test_timeline_and_notification_reads_follow_their_index(
    app: FastAPI, client: AsyncClient
) -> None:
    viewer, token = await user_with_token(app, "viewer")
    authors = await _seed(app, viewer.id)
    await settle(app)
    reads = {
        "home (cold feed: regeneration and the database page)": "/api/v1/timelines/home",
        "home, next page": f"/api/v1/timelines/home?max_id={new_id()}",
        "public": "/api/v1/timelines/public",
        "account statuses": f"/api/v1/accounts/{authors[0]}/statuses",
        "notifications": "/api/v1/notifications",
    }
    checked = 0
    for name, url in reads.items():
        with capturing(app) as seen:
            response = await client.get(url, params={"limit": 20}, headers=auth(token))
        assert response.status_code == 200, response.text
        assert len(response.json()) == 20, (name, response.json())
        for statement, parameters in _paged_reads(seen):
            problems, plan = await _plan_problems(app, statement, parameters)
            assert not problems, f"{name}: {problems}\n{statement}\n{plan}"
            checked += 1
    assert checked >= len(reads) - 1  # a warm Redis feed pages by id lookups, not a scan


async def test_a_home_page_of_feed_entries_probes_each_id(
    app: FastAPI, client: AsyncClient
) -> None:
    """Home's read of the statuses a Redis feed names reaches them by primary key, one probe
    per id: with `id = ANY(:ids)` PostgreSQL scanned the (visibility, id) index for them
    instead, several times the cost (docs/benchmarks.md, "Home's tail: renewed
    copies, per-key tickets, home_among by primary key")."""
    if app.state.engines.db.is_sqlite or app.state.engines.redis is None:
        return  # the statement exists with a Redis feed on PostgreSQL only
    viewer, token = await user_with_token(app, "viewer")
    await _seed(app, viewer.id)
    await settle(app)
    await client.get("/api/v1/timelines/home", headers=auth(token))  # builds the feed
    # Not the page kept in the process (timelines/home_pages.py): read from the feed.
    await app.state.engines.db.entity_cache.drop_near(HOME_KIND, [viewer.id])
    with capturing(app) as seen:
        response = await client.get("/api/v1/timelines/home?limit=20", headers=auth(token))
    assert response.status_code == 200
    assert len(response.json()) == 20
    by_ids = [(s, p) for s, p in seen if _driven_by_ids(" ".join(s.split()).lower())]
    assert by_ids, [s[:200] for s, _ in seen]
    async with app.state.engines.db.primary.connect() as connection:
        for statement, parameters in by_ids:
            result = await connection.exec_driver_sql(
                f"EXPLAIN (FORMAT JSON) {statement}", parameters
            )
            raw = result.scalar_one()
            plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
            scans = _outer_scans(plan, "statuses")
            assert scans, json.dumps(plan, indent=1)
            for scan in scans:
                assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), scan
                assert scan["Index Name"] == "pk_statuses", scan


def _statuses_rows_read(node: dict[str, Any]) -> int:
    """Rows PostgreSQL read from `statuses` in this plan (kept, and removed by a filter)."""
    own = 0
    if node.get("Relation Name") == "statuses":
        loops = node.get("Actual Loops", 1)
        own = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * loops
    return own + sum(_statuses_rows_read(child) for child in node.get("Plans", []))


@pytest.mark.slow
async def test_a_rare_tags_page_reads_only_its_own_statuses(
    app: FastAPI, client: AsyncClient
) -> None:
    """A tag used once, on the oldest of 30,000 public statuses: its page is looked up from
    the tag's index, not found by checking every newer status for the tag."""
    viewer, token = await user_with_token(app, "viewer")
    await _seed(app, viewer.id)
    async with app.state.engines.db.transaction() as session:
        oldest = (
            await session.execute(
                select(func.min(Status.id)).where(Status.visibility == Visibility.PUBLIC)
            )
        ).scalar_one()
        tag_id = new_id()
        await session.execute(insert(Tag), [{"id": tag_id, "name": "rare", "name_key": "rare"}])
        await session.execute(insert(StatusTag), [{"status_id": oldest, "tag_id": tag_id}])
    with capturing(app) as seen:
        response = await client.get("/api/v1/timelines/tag/rare", headers=auth(token))
    assert response.status_code == 200, response.text
    assert [status["id"] for status in response.json()] == [str(oldest)]
    (page,) = _paged_reads(seen)
    statement, parameters = page
    async with app.state.engines.db.primary.connect() as connection:
        if app.state.engines.db.is_sqlite:
            rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plan = "\n".join(str(row[-1]) for row in rows.all())
            # The statuses are searched by id, one per id the tag's index lists.
            assert re.search(r"SEARCH statuses USING .*\bid=\?\)", plan), plan
            assert "LIST SUBQUERY" in plan, plan
            return
        result = await connection.exec_driver_sql(
            f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters
        )
        raw = result.scalar_one()
        document = json.loads(raw) if isinstance(raw, str) else raw
        read = _statuses_rows_read(document[0]["Plan"])
        assert read <= 10, json.dumps(document, indent=1)
