"""Reusing the history (issue 17 part 3): a monthly run recomputes only the as-of months its inputs can change.

A run for M computes every as-of month from the programme's start, because tranche 2 and 3 (P2, P3) and FSM2's
requirements (F8) are judged on what each earlier month showed (P5); it writes only M. An earlier as-of month
A's rows in mart_visitation_progress, mart_activity_share and mart_fsm2_result (the marts later marts read for
earlier months: `Mart.history`) are a function of nothing but:
- the SQL models and the rules' values (`Rules.sql_params`) and the municipality reference;
- A's markings snapshot (int_asof_months' file: the versions valid on its extract date are that file's rows);
- the register files in force, per feed and period, for the periods up to A (int_register_files under this
  run's M). Offers, hours and education count for A only from deliveries of periods up to A (int_activity,
  int_fsm2_status), and the bound int_activity takes from the run's last month cuts only activity months after A;
- FSM2: the ydelse files in force that hold weeks of A (A's own target group, F1, may come from any delivery).

That list, hashed, is A's fingerprint. It is recorded in `mart_inputs` in the transaction that writes A's rows,
and a monthly run takes A's stored rows instead of recomputing them when A's fingerprint now is the recorded
one. Anything that could change them changes the fingerprint: a redelivered or late register file, a late or
same-day markings snapshot, a changed rule, model or reference. Backfills and what-if runs compute every month.
The proof by test: tests/rules/test_history_reuse.py runs scenarios month by month with and without reuse
(the reuse_history setting off), through redeliveries, late files and a rule change, and compares every mart row.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

from fsm.transform.manifest import Programme
from fsm.warehouse import sql_file, sql_path

# Per as-of month: the snapshot file, the register files in force for periods up to it, and (FSM2) the ydelse
# files holding its weeks; `{static}` is the digest of models, rules and reference.
FINGERPRINT_SQL = """
with asof as ({asof}), reg as ({registers}),
files as (  -- by content: a file is its sha256 (file ids are the warehouse's own)
    select r.feed, r.period, r.file_id, r.feed || ':' || r.period || ':' || f.sha256 as id
    from reg as r inner join ingest_file as f using (file_id)
)
select a.as_of_month, md5(concat_ws('|', %(static)s::text,
    (select s.period || ':' || s.sha256 from ingest_file as s where s.file_id = a.snapshot_file_id),
    (select string_agg(r.id, ',' order by r.id) from files as r where r.period <= a.as_of_month),
    case when %(fsm2)s then
        (select string_agg(r.id, ',' order by r.id) from files as r
         where r.feed = 'ydelse' and exists (select 1 from stg_ydelse as y where y.file_id = r.file_id and y.week_month = a.as_of_month))
    end))
from asof as a
"""

# What varies from run to run without changing an as-of month's rows (the fingerprint holds what does).
_RUN_PARAMS = ("first_month", "last_month", "write_months", "compute_months")


def _static_digest(conn, prog: Programme, params: dict[str, object]) -> str:
    h = hashlib.sha256(prog.name.encode())
    for name in (*(f"intermediate/{m}.sql" for m in prog.intermediates), *(f"marts/{m.name}.sql" for m in prog.marts)):
        h.update(sql_path(name).read_bytes())
    rules = {k: v for k, v in params.items() if k not in _RUN_PARAMS}
    h.update(json.dumps(rules, sort_keys=True, default=str).encode())
    ref = conn.execute("select string_agg(kommune_kode || ':' || kommune_navn, ',' order by kommune_kode) from ref_kommuner")
    h.update((ref.fetchone()[0] or "").encode())
    return h.hexdigest()


def fingerprints(conn, prog: Programme, params: dict[str, object], all_months: list[date]) -> dict[date, str]:
    """Each as-of month's fingerprint under this run (its last month decides which register files are in force)."""
    every = {**params, "compute_months": all_months}
    query = FINGERPRINT_SQL.format(
        asof=sql_file("intermediate/int_asof_months.sql", every), registers=sql_file("intermediate/int_register_files.sql", every)
    )
    rows = conn.execute(query, {"static": _static_digest(conn, prog, params), "fsm2": prog.name == "FSM2"})
    return dict(rows.fetchall())


def _row_counts(conn, prog: Programme, where_programme: str, ms: list[date]) -> dict[date, dict[str, int]]:
    counts: dict[date, dict[str, int]] = {m: {} for m in ms}
    for mart in prog.marts:
        if mart.history:
            cur = conn.execute(
                f"select as_of_month, count(*) from {mart.name} where {where_programme}as_of_month = any(%s) group by 1", (ms,)
            )
            for m, n in cur.fetchall():
                counts[m][mart.name] = n
    return counts


def reusable(conn, prog: Programme, where_programme: str, now: dict[date, str], month: date) -> list[date]:
    """The as-of months before `month` whose stored rows were computed from what they would be computed from now,
    and are all still there."""
    stored = conn.execute(
        "select as_of_month, fingerprint, row_counts from mart_inputs where programme = %s and as_of_month < %s",
        (prog.name, month),
    ).fetchall()
    same = [(m, counts) for m, fp, counts in stored if now.get(m) == fp]
    there = _row_counts(conn, prog, where_programme, [m for m, _ in same])
    return sorted(m for m, counts in same if counts == there[m])


def record(conn, prog: Programme, where_programme: str, now: dict[date, str], written: list[date]) -> None:
    """The fingerprints and row counts of the months just written, in the transaction that wrote them."""
    counts = _row_counts(conn, prog, where_programme, written)
    conn.execute(
        "insert into mart_inputs (programme, as_of_month, fingerprint, row_counts)"
        " select %s, m, fp, c::jsonb from unnest(%s::date[], %s::text[], %s::text[]) as u (m, fp, c)"
        " on conflict (programme, as_of_month) do update"
        " set fingerprint = excluded.fingerprint, row_counts = excluded.row_counts, recorded_at = now()",
        (prog.name, written, [now[m] for m in written], [json.dumps(counts[m], sort_keys=True) for m in written]),
    )
