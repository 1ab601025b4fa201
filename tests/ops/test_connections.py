"""Connections the Airflow way: resources/dev_connections.json (what `airflow connections import` and
AIRFLOW_CONN_* in JSON form take), read by the package in both the URI and the JSON form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEV = json.loads((ROOT / "resources" / "dev_connections.json").read_text())


def _as_env(monkeypatch, conn_id: str, value: str) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value)


def test_the_dev_connections_are_airflow_connections():
    from airflow.sdk.definitions.connection import Connection

    assert set(DEV) == {"fsm_warehouse", "fsm_pseudonym", "fsm_alerts"}
    conns = {cid: Connection.from_json(json.dumps(c), conn_id=cid) for cid, c in DEV.items()}
    assert conns["fsm_warehouse"].conn_type == "postgres" and conns["fsm_warehouse"].schema
    assert conns["fsm_pseudonym"].password
    assert conns["fsm_alerts"].conn_type == "smtp" and conns["fsm_alerts"].extra_dejson["to"]


@pytest.mark.parametrize("form", ["json", "uri"])
def test_the_pseudonym_key_comes_from_the_fsm_pseudonym_connection(monkeypatch, form):
    from fsm import cpr

    key = "k3y/with:odd@chars-0123456789"
    value = (
        json.dumps({"conn_type": "generic", "password": key})
        if form == "json"
        else "generic://:k3y%2Fwith%3Aodd%40chars-0123456789@"
    )
    monkeypatch.delenv("FSM_PSEUDONYM_KEY", raising=False)
    _as_env(monkeypatch, "fsm_pseudonym", value)
    cpr.pseudonym_key.cache_clear()
    try:
        assert cpr.pseudonym_key() == key.encode()
    finally:
        cpr.pseudonym_key.cache_clear()


def test_fsm_pseudonym_key_overrides_the_connection(monkeypatch):
    from fsm import cpr

    monkeypatch.setenv("FSM_PSEUDONYM_KEY", "local-override-key-0123456789")
    _as_env(monkeypatch, "fsm_pseudonym", json.dumps(DEV["fsm_pseudonym"]))
    cpr.pseudonym_key.cache_clear()
    try:
        assert cpr.pseudonym_key() == b"local-override-key-0123456789"
    finally:
        cpr.pseudonym_key.cache_clear()


def _warehouse_url(monkeypatch, value: str) -> str:
    from fsm import warehouse

    monkeypatch.delenv("FSM_WAREHOUSE_URL", raising=False)
    _as_env(monkeypatch, "fsm_warehouse", value)
    warehouse.url.cache_clear()
    try:
        return warehouse.url()
    finally:
        warehouse.url.cache_clear()


def test_the_warehouse_connection_in_uri_form(monkeypatch):
    assert _warehouse_url(monkeypatch, "postgres://fsm:pw@warehouse:5432/fsm") == "postgresql://fsm:pw@warehouse:5432/fsm"


def test_the_warehouse_connection_in_json_form(monkeypatch):
    import psycopg

    conn = {"conn_type": "postgres", "host": "warehouse", "port": 5432, "login": "fsm", "password": "p@ss/w:rd", "schema": "fsm"}
    url = _warehouse_url(monkeypatch, json.dumps(conn))
    params = psycopg.conninfo.conninfo_to_dict(url)
    assert params == {"host": "warehouse", "port": "5432", "user": "fsm", "password": "p@ss/w:rd", "dbname": "fsm"}


def test_production_without_a_warehouse_connection_fails_at_once_naming_it(monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    from fsm import pipeline, warehouse
    from fsm.connections import MissingConnectionError

    monkeypatch.setenv("FSM_ENV", "production")
    monkeypatch.delenv("FSM_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_FSM_WAREHOUSE", raising=False)
    warehouse.url.cache_clear()
    try:
        with pytest.raises(MissingConnectionError, match="Airflow connection 'fsm_warehouse'"):
            warehouse.url()  # no embedded fallback in production (CONTRACT §2)
        with pytest.raises(AirflowFailException, match=r"fsm_warehouse.*MissingConnectionError: not retried"):
            pipeline.prepare_warehouse()  # the task fails without its retries
    finally:
        warehouse.url.cache_clear()


@pytest.mark.slow
def test_a_warehouse_connection_defined_in_the_metadata_database_reaches_the_tasks(warehouse_url, tmp_path, monkeypatch):
    """As if defined in the UI: not in the environment, only in Airflow's metadata database. The month's run
    (dag.test, tasks through the execution API) writes into that warehouse."""
    import psycopg
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    from fsm import warehouse
    from fsm_dev.run import load_dag, run_month
    from fsm_dev.synth import generate
    from support.db import server_url, throwaway_database

    generate(tmp_path / "landing", seed=7, scale="tiny", start="2017-08", end="2017-08", programmes=("FSM1",))
    monkeypatch.setenv("FSM_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("FSM_PROGRAMMES", "FSM1")
    monkeypatch.delenv("FSM_WAREHOUSE_URL")
    monkeypatch.delenv("AIRFLOW_CONN_FSM_WAREHOUSE", raising=False)
    with throwaway_database(server_url(), "fsm_conn") as url:
        p = psycopg.conninfo.conninfo_to_dict(url)
        with create_session() as session:
            session.query(Connection).filter(Connection.conn_id == "fsm_warehouse").delete()
            session.add(
                Connection(
                    conn_id="fsm_warehouse", conn_type="postgres", host=p["host"], port=int(p.get("port", 5432)),
                    login=p.get("user"), schema=p["dbname"],
                )
            )  # fmt: skip
        warehouse.url.cache_clear()
        try:
            run_month(load_dag(), "2017-08")
            with psycopg.connect(url) as conn:
                rows = conn.execute("select count(*) from mart_tranche_status where as_of_month = '2017-08-01'").fetchone()[0]
                files = conn.execute("select count(*) from ingest_file").fetchone()[0]
            assert rows > 0 and files > 0
        finally:
            warehouse.url.cache_clear()
            with create_session() as session:
                session.query(Connection).filter(Connection.conn_id == "fsm_warehouse").delete()
