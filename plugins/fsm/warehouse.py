"""The reporting warehouse: where it is, how to connect, its versioned schema, SQL rendering.

The warehouse_url setting (any `postgresql://…` URL, incl. `?host=/socket/dir`), else the Airflow
connection `fsm_warehouse`, else a private PostgreSQL started on demand by `pgserver` under
`data/pg/` (ARCHITECTURE: PostgreSQL everywhere).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import psycopg

from fsm import connections
from fsm.config import SQL_DIR, embedded_pgdata, env_name, settings

log = logging.getLogger(__name__)

SCHEMA_DIR = SQL_DIR / "schema"
_MIGRATION_LOCK = 7_401_001  # pg_advisory_xact_lock key for schema changes


@cache
def url() -> str:
    """The libpq URL of the warehouse (resolved once per process): the warehouse_url setting (local
    override), else the Airflow connection fsm_warehouse, else — never in production — an embedded one."""
    s = settings()
    if s.warehouse_url:
        return _libpq_url(s.warehouse_url)
    conn = connections.lookup(connections.WAREHOUSE)
    if conn is not None:
        return connections.postgres_url(conn)
    if s.production:
        raise connections.MissingConnectionError(
            f"no warehouse: {env_name('env')}={s.env} allows no embedded PostgreSQL; "
            f"{connections.where_defined(connections.WAREHOUSE)} or set {env_name('warehouse_url')}"
        )
    return _embedded_url()


def _libpq_url(raw: str) -> str:
    # SQLAlchemy-style driver suffixes and Airflow's 'postgres://' scheme mean the same server.
    return re.sub(r"^(postgres|postgresql)(\+\w+)?://", "postgresql://", raw.strip())


def sqlalchemy_url() -> str:
    return url().replace("postgresql://", "postgresql+psycopg://", 1)


def _embedded_url() -> str:
    import pgserver  # started on demand; stays up for the next task (cleanup_mode=None)

    pgdata = embedded_pgdata()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    return server.get_uri()


def describe_url(raw: str | None = None) -> str:
    """The URL (the warehouse's, or `raw`) without a password, for logs and reports."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url() if raw is None else raw)


@contextmanager
def connect(autocommit: bool = False) -> Generator[psycopg.Connection, None, None]:
    """A psycopg connection; the transaction commits on success, rolls back on error."""
    with psycopg.connect(url(), autocommit=autocommit) as conn:
        yield conn


def migrate() -> list[str]:
    """Apply `include/sql/schema/V###__*.sql` not yet applied, in order, under a lock. Idempotent."""
    applied_now = []
    with connect() as conn:
        conn.execute("select pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            "create table if not exists schema_version ("
            " version int primary key, name text not null,"
            " applied_at timestamptz not null default now())"
        )
        done = {r[0] for r in conn.execute("select version from schema_version")}
        for path in sorted(SCHEMA_DIR.glob("V*__*.sql")):
            version = int(path.name[1:].split("__", 1)[0])
            if version in done:
                continue
            conn.execute(path.read_text(encoding="utf-8"))
            conn.execute("insert into schema_version (version, name) values (%s, %s)", (version, path.stem))
            applied_now.append(path.name)
        _sync_reference(conn)
    if applied_now:
        log.info("warehouse schema: applied %s", ", ".join(applied_now))
    return applied_now


def _sync_reference(conn: psycopg.Connection) -> None:
    from fsm.config import kommuner

    with conn.cursor() as cur:
        cur.executemany(
            "insert into ref_kommuner (kommune_kode, kommune_navn) values (%s, %s)"
            " on conflict (kommune_kode) do update set kommune_navn = excluded.kommune_navn",
            sorted(kommuner().items()),
        )


# --- SQL files ---------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def literal(value: object) -> str:
    """A value as a PostgreSQL literal. Only our own configuration goes through here."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, datetime):
        return f"timestamptz '{value.isoformat()}'"
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, (list, tuple)):
        kind = (
            "int[]"
            if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            else ("numeric[]" if value and all(isinstance(v, Decimal) for v in value) else "text[]")
        )
        return "array[" + ", ".join(literal(v) for v in value) + f"]::{kind}"
    return "'" + str(value).replace("'", "''") + "'"


def render_sql(text: str, params: Mapping[str, object]) -> str:
    """Fill `{{ name }}` placeholders with literals (GX's own `{batch}` is left alone)."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in params:
            raise KeyError(f"SQL placeholder {{{{ {name} }}}} has no value")
        return literal(params[name])

    return _PLACEHOLDER.sub(sub, text)


def sql_file(relative: str, params: Mapping[str, object] | None = None) -> str:
    text = (SQL_DIR / relative).read_text(encoding="utf-8")
    return render_sql(text, params or {})


def sql_path(relative: str) -> Path:
    return SQL_DIR / relative
