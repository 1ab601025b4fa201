"""Operator docs shown in the Airflow UI: what each task does and what to do when it fails."""

DAG_DOC = """
# fsm_monthly_monitoring — STAR's monitoring of 'Flere skal med'

Each run computes the monitoring **as of the end of one month M** (P5): the newest markings
snapshot extracted by the last day of M, and the register deliveries for M and earlier.
A scheduled run for M starts on the 1st of M+1 (data interval [M-01, (M+1)-01), Copenhagen).
To run one month by hand, trigger with `month = YYYY-MM` (or `make month MONTH=YYYY-MM`);
`backfill = true` computes every month from 2017-08 to M in one set-based pass.

**Flow:** wait for M's files → prepare warehouse → ingest every feed → quality (input suites,
marking rules) → transform (visitation, activity, tranches) → report → publish Assets.

**Where things are:** warehouse = `FSM_WAREHOUSE_URL` (default: embedded PostgreSQL under
`data/pg`); reports = `FSM_REPORTS_DIR/<YYYY-MM>/tranche_report.{xlsx,html,csv}` and
`…/data_docs/`. Rejected input rows: table `ingest_rejects` (file, line, reason).

**Rerunning** a month is always safe: files already loaded are skipped by content hash, and
the month's mart rows are replaced in one transaction.
"""

TASK_DOCS = {
    "wait_for_month_files": """
Waits (reschedule mode, freeing the worker slot) for month M's deliveries: a markings snapshot
extracted in M and the `ydelse`, `tilbud` and `timer` files for M. Each poke logs exactly which
files are still missing. **On failure** (timeout): ask the source system for the files named
in the log, drop them into the landing zone, and clear this task.
""",
    "prepare_warehouse": """
Applies any pending versioned schema change (`include/sql/schema/V###__*.sql`) under an
advisory lock; idempotent. **On failure:** check that `FSM_WAREHOUSE_URL` is reachable.
""",
    "ingest": """
Loads every not-yet-loaded file of this feed that month M may see (P5) into bitemporal staging,
one transaction per file. Bad rows go to `ingest_rejects` with line number and reason; the log
prints `read = loaded + rejected` per file. **On failure** the message names the file and the
problem (encoding, missing column, empty snapshot, size limit): fix or replace that file in the
landing zone and clear the task. Nothing is half-loaded.
""",
    "check_inputs": """
Great Expectations suites on the staged feeds (`expectations/stg_*.json`). **On failure** the
message says which expectation failed on how many rows; the Data Docs under the month's report
folder show the rows. Fix the delivery, then clear `ingest` and this task.
""",
    "check_markings": """
The marking data-quality rules (DOMAIN's DQ table) on month M's snapshot; violations are written
to `dq_marking_violations` and **never stop the run**. **On failure** (an error, not a violation):
read the log; the month can be rerun.
""",
    "build_marts": """
Computes FSM1 visitation (V1–V4), activity share (A1–A2) and tranche status (P1–P5) for month M
and replaces M's rows in the marts in one transaction. **On failure** nothing is written; rerun.
""",
    "check_marts": """
Great Expectations suites on month M's mart rows (`expectations/mart_*.json`): keys unique,
percentages 0–100, visited + deferred + unvisited = target, three tranches per municipality adding
up to its grant. **On failure** the message names the expectation and the row count: the marts
are wrong, do not send the report; open the Data Docs, fix the model, rerun the month.
""",
    "write_report": """
Writes the finance report for month M: `tranche_report.xlsx`, `.html` and `.csv` under
`FSM_REPORTS_DIR/<YYYY-MM>/`. **On failure:** check the folder is writable; rerun the task.
""",
    "publish": """
Marks the Assets (staging, marts, report) updated so downstream DAGs can be scheduled on them.
""",
}
