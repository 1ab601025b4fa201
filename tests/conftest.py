"""Shared fixtures: a real PostgreSQL warehouse per test session, the project's Airflow home.

FSM_TEST_PG_URL (default: the machine's server on 127.0.0.1:5432) is used to create a fresh
database for the session; when it does not answer, an embedded pgserver is started instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
os.environ.setdefault("FSM_PSEUDONYM_KEY", "test-key-" + "x" * 24)
os.environ.pop("FSM_ENV", None)

from fsm.ops import airflow_env  # noqa: E402

airflow_env.configure()

DATA_TABLES = (
    "ingest_rejects", "stg_markings", "stg_ydelse", "stg_tilbud", "stg_timer", "stg_uddannelse", "stg_allocations",
    "mart_visitation_progress", "mart_activity_share", "mart_tranche_status", "mart_fsm2_result",
    "mart_fsm2_requirement", "dq_marking_violations", "run_log", "ingest_file",
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


@pytest.fixture(scope="session")
def warehouse_url(tmp_path_factory) -> str:
    from fsm import warehouse

    admin = server_url()
    if admin is None:
        import pgserver

        server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
        admin = server.get_uri()
    with throwaway_database(admin, "fsm_test") as url:
        os.environ["FSM_WAREHOUSE_URL"] = url
        warehouse.url.cache_clear()
        warehouse.migrate()
        yield url


@pytest.fixture
def wh(warehouse_url):
    """An empty warehouse (schema kept) for one test."""
    from fsm import warehouse

    empty_warehouse()
    return warehouse


@pytest.fixture
def landing(tmp_path, monkeypatch):
    root = tmp_path / "landing"
    root.mkdir()
    monkeypatch.setenv("FSM_LANDING", str(root))
    return root


def pytest_addoption(parser):
    parser.addoption("--stack", action="store_true", help="run tests/stack: the whole Airflow stack (make stack-test)")


def pytest_collection_modifyitems(config, items):
    # The stack test starts Airflow's four components and runs a month through the scheduler (~minutes):
    # it has its own target, `make stack-test`, which CI runs after `make test`.
    if config.getoption("--stack"):
        return
    skip = pytest.mark.skip(reason="the whole stack: run it with `make stack-test`")
    for item in items:
        if "stack" in item.keywords:
            item.add_marker(skip)
