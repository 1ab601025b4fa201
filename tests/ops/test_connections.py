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
