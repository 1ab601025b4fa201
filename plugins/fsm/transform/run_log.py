"""run_log: one row per run of a month and programme — which run, code, rules and files made its figures (CONTRACT §2)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache

from psycopg.types.json import Jsonb

from fsm.config import PROJECT_ROOT, Rules, settings


@dataclass(frozen=True)
class RunInfo:
    """Who computes: the Airflow run (its id and start), or a local call; `what_if` names a what-if run."""

    run_id: str = field(default_factory=lambda: f"local__{datetime.now(UTC).isoformat(timespec='microseconds')}")
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    what_if: str | None = None


@cache
def code_version() -> str:
    """The code_version setting (the image bakes it in), else `git describe` of the checkout, else 'unknown'.
    Eight hex digits: a longer hash can hold ten decimal digits in a row, which the reports' CPR scans
    (rightly) refuse."""
    if settings().code_version:
        return settings().code_version
    try:
        out = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "describe", "--always", "--dirty", "--abbrev=8"],
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


# P5: every delivery month M's figures read — its markings snapshot, the register files in force for
# the months up to M, and the newest allocation file — with the hash it was loaded under.
FILES_SQL = """
select coalesce(jsonb_agg(jsonb_build_object('feed', f.feed, 'file', f.file_name, 'sha256', f.sha256)
                          order by f.feed, f.period, f.file_name), '[]'::jsonb),
       count(*) filter (where f.feed <> 'markings' and f.feed <> 'allocations')
from ingest_file as f
where f.file_id in (select a.snapshot_file_id from int_asof_months as a where a.as_of_month = %(m)s)
   or f.file_id in (select r.file_id from int_register_files as r where r.period <= %(m)s)
   or f.file_id = (select max(x.file_id) from ingest_file as x where x.feed = 'allocations')
"""


def record(conn, programme: str, write: list[date], marts: list[str], rules: Rules, run: RunInfo) -> None:
    """One run_log row per month written, in the transform's transaction (its temp tables still exist)."""
    counts: dict[date, dict[str, int]] = {m: {} for m in write}
    for mart in marts:
        for m, n in conn.execute(
            f"select as_of_month, count(*) from {mart}_all where as_of_month = any(%s) group by 1", (write,)
        ):
            counts[m][mart] = n
    version, rules_json = code_version(), Jsonb(rules.model_dump(mode="json"))
    for m in write:
        files, register_files = conn.execute(FILES_SQL, {"m": m}).fetchone()
        snapshot = conn.execute(
            "select f.file_name, a.snapshot_date from int_asof_months as a"
            " left join ingest_file as f on f.file_id = a.snapshot_file_id where a.as_of_month = %s",
            (m,),
        ).fetchone() or (None, None)
        conn.execute(
            "insert into run_log (as_of_month, programme, step, run_id, started_at, finished_at, code_version, rules, files,"
            " row_counts, what_if, snapshot_file, snapshot_date, register_files, rows_written)"
            " values (%s, %s, 'transform', %s, %s, now(), %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " on conflict (as_of_month, programme, step, run_id) do update set finished_at = now(),"
            " rules = excluded.rules, files = excluded.files, row_counts = excluded.row_counts",
            (m, programme, run.run_id, run.started_at, version, rules_json, Jsonb(files), Jsonb(counts[m]), run.what_if,
             snapshot[0], snapshot[1], register_files, sum(counts[m].values())),
        )  # fmt: skip
