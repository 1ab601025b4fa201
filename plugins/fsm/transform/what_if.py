"""What-if runs (CONTRACT §2): month M under rule overrides, written beside the official marts, never into them.

Each mart has a twin `what_if.<mart>` with the same columns plus `what_if` (the run's name). A twin
is made on first use and gains any column its official table has gained since, so a new mart or
column needs no what-if migration. The official tables are never written by a what-if run.
"""

from __future__ import annotations

import re

from fsm.config import Rules, SettingsError, rules

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")  # a folder name and a key: lower case, digits, '-', '_'


def validated(name: str, overrides: dict[str, object] | None) -> tuple[str, Rules]:
    """The what-if name and the rules it runs under; a bad name or override is a SettingsError naming it."""
    if not isinstance(name, str) or not NAME.match(name):
        raise SettingsError(f"what-if name {name!r}: 1–40 characters of a–z, 0–9, '-' and '_', starting with a letter or digit")
    if not isinstance(overrides, dict) or not overrides:
        raise SettingsError(
            f'what-if {name!r}: the rule overrides must be a non-empty JSON object, e.g. {{"activity_threshold_pct": 45}}'
        )
    return name, rules(overrides)


def twin(conn, mart) -> str:
    """`what_if.<mart>`, created or widened to the official table's columns (manifest order kept by the insert)."""
    table = f"what_if.{mart.name}"
    conn.execute(f"create table if not exists {table} (what_if text not null, like public.{mart.name} including defaults)")
    missing = conn.execute(
        "select o.column_name, format_type(a.atttypid, a.atttypmod) from information_schema.columns as o"
        " join pg_attribute as a on a.attrelid = %s::regclass and a.attname = o.column_name"
        " where o.table_schema = 'public' and o.table_name = %s"
        " and o.column_name not in (select column_name from information_schema.columns"
        "  where table_schema = 'what_if' and table_name = %s)",
        (f"public.{mart.name}", mart.name, mart.name),
    ).fetchall()
    for column, type_ in missing:
        conn.execute(f"alter table {table} add column {column} {type_}")
    conn.execute(f"create index if not exists {mart.name}_what_if on {table} (what_if, as_of_month)")
    return table


def run(month, name: str, overrides: dict[str, object], run_id: str | None = None) -> dict[str, object]:
    """Month M under the overrides: marts into the what-if twins, then the comparison report."""
    from fsm.report.what_if import write_comparison
    from fsm.transform import run_month
    from fsm.transform.run_log import RunInfo

    name, rules_ = validated(name, overrides)
    info = RunInfo(run_id, what_if=name) if run_id else RunInfo(what_if=name)
    out = run_month(month, run=info, rules_=rules_)
    out["comparison"] = write_comparison(month, name, rules_)
    return out
