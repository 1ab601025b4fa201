"""Shared fixtures: a real PostgreSQL warehouse per test session, the project's Airflow home.

Helpers that tests import live in tests/support/ (db, scenario, mailbox, fuzz, child), not here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("FSM_PSEUDONYM_KEY", "test-key-" + "x" * 24)
os.environ.pop("FSM_ENV", None)

from fsm.ops import airflow_env  # noqa: E402
from support.db import empty_warehouse, server_url, throwaway_database  # noqa: E402

airflow_env.configure()


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


def pytest_runtest_setup(item):
    if "browser" in item.keywords:
        from support.browser import require_chromium

        require_chromium()  # skip locally, fail under CI=true


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
