"""Throw-away PostgreSQL databases for tests: the server to use, a fresh database, an emptied warehouse.

FSM_TEST_PG_URL (default: the machine's server on 127.0.0.1:5432) is where databases are created;
when it does not answer, the session fixture in conftest starts an embedded pgserver instead.
"""

from __future__ import annotations

import contextlib
import os
import uuid

from fsm.contract import FEEDS

DATA_TABLES = (
    "ingest_rejects", "stg_marking_versions", "stg_marking_lines", "stg_ydelse", "stg_tilbud", "stg_timer", "stg_uddannelse", "stg_allocations", "dim_person",
    "mart_visitation_progress", "mart_activity_share", "mart_tranche_status", "mart_fsm2_result",
    "mart_fsm2_requirement", "mart_fsm2_payment_status", "dq_marking_violations", "run_log", "ingest_file", "mart_inputs",
)  # fmt: skip


def server_url() -> str | None:
    import psycopg

    url = os.environ.get("FSM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        with psycopg.connect(url, connect_timeout=3):
            return url
    except psycopg.OperationalError:
        return None


def database_url(url: str, name: str) -> str:
    """`url` with its database replaced by `name` (socket and query parameters kept)."""
    base, _, query = url.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name + (("?" + query) if query else "")


@contextlib.contextmanager
def throwaway_database(admin: str, prefix: str):
    """A fresh database on the server of `admin` (a URL), yielded as a URL; dropped afterwards."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"create database {name}")
    try:
        yield database_url(admin, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"drop database if exists {name} with (force)")


def empty_warehouse() -> None:
    """Every data table of the current warehouse emptied (schema and reference data kept)."""
    from fsm import warehouse

    with warehouse.connect() as conn:
        conn.execute("truncate " + ", ".join(DATA_TABLES) + " restart identity cascade")


STAGING = tuple(f.staging_table for f in FEEDS.values())
MARTS = ("mart_visitation_progress", "mart_activity_share", "mart_tranche_status", "dq_marking_violations")


def dump(conn) -> dict[str, list]:
    """Everything a run leaves, without surrogate keys and load times."""
    out = {
        "ingest_file": conn.execute(
            "select feed, file_name, sha256, period, size_bytes, rows_read, rows_loaded, rows_rejected from ingest_file order by 1, 2, 3"
        ).fetchall(),
        "ingest_rejects": conn.execute(
            "select file, line_no, feed, reason, row_masked from ingest_rejects order by 1, 2"
        ).fetchall(),
    }
    for feed in FEEDS.values():
        t = feed.staging_table
        if "person_id" in feed.staging_columns:  # a surrogate (the order citizens came): compared as its person_key
            row = "to_jsonb(s) - 'file_id' - 'person_id' || jsonb_build_object('person_key', p.person_key)"
            person = "join dim_person p using (person_id)"
        else:
            row, person = "to_jsonb(s) - 'file_id'", ""
        out[t] = conn.execute(
            f"select f.file_name, ({row})::text from {t} s join ingest_file f using (file_id) {person} order by 1, 2"
        ).fetchall()
    for t in MARTS:
        out[t] = conn.execute(f"select as_of_month, (to_jsonb(m))::text from {t} m order by 1, 2").fetchall()
    return out
