"""The Airflow connections the pipeline uses, looked up the way Airflow looks up any connection.

Inside a task `BaseHook.get_connection` asks the environment (AIRFLOW_CONN_<ID>), then the
metadata database through the execution API, then any configured secrets backend; outside a
task the environment and the secrets backends. A connection defined in the UI therefore
reaches the tasks. The local overrides in fsm.config (warehouse_url, pseudonym_key) win.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlencode

from fsm.errors import PermanentError

log = logging.getLogger(__name__)

WAREHOUSE = "fsm_warehouse"  # conn_type postgres: host, port, login, password, schema = the database
PSEUDONYM = "fsm_pseudonym"  # its password is the HMAC key for person_key
CONN_IDS = (WAREHOUSE, PSEUDONYM)


class MissingConnectionError(PermanentError, RuntimeError):
    """A connection the run needs is not defined anywhere Airflow looks (and no local override is set)."""


def lookup(conn_id: str):
    """The Airflow Connection `conn_id`, or None when no source defines it."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def postgres_url(conn) -> str:
    """A postgres connection as a libpq URL (the password URL-quoted; extras become query parameters)."""
    auth = ""
    if conn.login:
        auth = quote(conn.login, safe="") + (":" + quote(conn.password, safe="") if conn.password else "") + "@"
    host = (conn.host or "") + (f":{conn.port}" if conn.port else "")
    query = urlencode({k: str(v) for k, v in (conn.extra_dejson or {}).items()})
    return f"postgresql://{auth}{host}/{quote(conn.schema or '', safe='')}" + (f"?{query}" if query else "")


def where_defined(conn_id: str) -> str:
    """For error messages: where an operator may define the connection."""
    return (
        f"define the Airflow connection '{conn_id}' (Admin → Connections, the REST API, a secrets backend, "
        f"or the environment variable AIRFLOW_CONN_{conn_id.upper()})"
    )
