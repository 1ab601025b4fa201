"""Operator docs shown in the Airflow UI: what each task does and what to do when it fails.

Also the trigger form's month suggestions. Nothing here is imported by tasks; keep it light (the
DAG file imports it at parse time).
"""

import re

from fsm.config import env_name, rules
from fsm.months import label, month_range

# F9: FSM1 runs 2017-08 … 2019-12, FSM2 2019-01 … 2021-12 (config.Rules). The schedule covers the
# first to the last monitored month (the DAG's start and end date): a month after every programme
# has nothing to monitor, so no scheduled run is created for it. Newest first in the form.
_RULES = rules()
FIRST_MONTH = min(_RULES.project_start.replace(day=1), _RULES.fsm2_first_month)
LAST_MONTH = max(_RULES.project_last_month, _RULES.fsm2_last_month)
MONTH_EXAMPLES = [label(m) for m in month_range(FIRST_MONTH, LAST_MONTH)][::-1]


def trigger_form() -> dict:
    """The trigger form: one month, or the backfill up to it, or a what-if run of one month (CONTRACT §2)."""
    from airflow.sdk import Param

    return {
        "month": Param(None, type=["null", "string"], pattern=r"^(\d{4}-(0[1-9]|1[0-2]))?$", examples=MONTH_EXAMPLES,
                       title="Month (YYYY-MM)",
                       description="The as-of month to compute. Empty: the month of the run's data interval (a manual run: last month)."),
        "backfill": Param(False, type="boolean", title="Backfill 2017-08 … month",
                          description="Compute every month from 2017-08 to this month in one set-based pass and write them all."),
        "what_if_name": Param(None, type=["null", "string"], pattern=r"^([a-z0-9][a-z0-9_-]{0,39})?$", title="What-if name",
                              description="Empty: the official run. A name (a–z, 0–9, '-', '_'): compute the month under the "
                              "rule overrides below, beside the official figures, and write a comparison report."),
        "what_if_rules": Param({}, type="object", title="What-if rule overrides (JSON)",
                               description='Rules to change, e.g. {"activity_threshold_pct": 45}; checked by the settings '
                               "model (fsm.config.Rules): a wrong name or value fails the run at once, naming it."),
    }  # fmt: skip


def _fill(text: str) -> str:
    """@PERIOD@ → the monitored months; @<setting>@ → the setting's variable name (config)."""
    text = text.replace("@PERIOD@", f"{label(FIRST_MONTH)} … {label(LAST_MONTH)}")
    return re.sub(r"@([a-z_]+)@", lambda m: env_name(m.group(1)), text)


DAG_DOC = """
# FSM monthly monitoring — STAR's monitoring of 'Flere skal med'

Each run computes the monitoring **as of the end of one month M** (P5): the newest markings
snapshot extracted by the last day of M, and the register deliveries for M and earlier. It
writes M's visitation, activity share and tranche status (P1–P3) (FSM1; FSM2 in its period)
and M's finance report.

| | |
|---|---|
| **Schedule** | the 1st of M+1, 00:00 Copenhagen, for month M (data interval [M-01, (M+1)-01)), for M in @PERIOD@ (F9: the first and last monitored month) |
| **Flow** | wait for M's files → prepare warehouse → ingest every feed → quality (input suites, marking rules) → transform (marts, mart suites) → report (finance report, feedback files to the municipalities) → publish |
| **Report** | *Tranche report* and *Data Docs* buttons under **Extra Links** of any task instance; the run's **Report** tab; **Browse → FSM reports** for every month |
| **Files** | `@reports_dir@/<YYYY-MM>/tranche_report.{xlsx,html,csv}` and `…/data_docs/` |
| **Warehouse** | Airflow connection `fsm_warehouse` (`@warehouse_url@` overrides it; default: embedded PostgreSQL under `data/pg`) |
| **Alerts** | a task failing after its retries, and a run 6 h past the usual duration, go where connection `fsm_alerts` says (SMTP mail; `apprise` = chat via Apprise; `http` = JSON webhook; a slow-run alert only while the run still runs). Without it they are only logged. |

## Run a month by hand, or a backfill
**Trigger** (▶) → fill **Month (YYYY-MM)** → Trigger. Leave *Backfill* off to compute that one
month. Switch *Backfill* on to compute every month from 2017-08 to that month in one set-based
pass and write all of them (same rows as month by month). An empty month computes the month of
the run's data interval: for a manual run that is **last** month. A month outside @PERIOD@
(or outside `@programmes@`) fails at once: nothing is monitored then. From a shell:
`make month MONTH=2018-03`, `make backfill MONTH=2019-12`.

## When something fails
Each task's *Docs* says what to do. In short: a missing file → the sensor's log names it; a bad
file → the ingest error names file and line, rejected rows are in table `ingest_rejects`; a
failed mart suite → **do not send the report**, open the Data Docs. **Rerunning** (Clear) is
always safe: files already loaded are skipped by content hash, and M's mart rows are replaced in
one transaction. Runs may be cleared in any order; the rows come out the same.
"""

TASK_DOCS = {
    "wait_for_month_files": """
Waits (reschedule mode, freeing the worker slot; a poke an hour, for up to 9 days, `@wait_hours@`)
for month M's deliveries: a markings snapshot extracted in M and the `ydelse`, `tilbud` and `timer`
files for M. Each poke logs exactly which files are still missing; its XCom is the month the run
computes. **On failure** (it gave up waiting): ask the source system for the files named in the
log, drop them into the landing zone, then clear this task.
""",
    "prepare_warehouse": """
Applies any pending versioned schema change (`include/sql/schema/V###__*.sql`) under an advisory
lock, and refreshes the municipality list; idempotent. **On failure:** check that the warehouse
(connection `fsm_warehouse`, or `@warehouse_url@`) answers and its user may create tables; a
failed migration is rolled back, so fix the cause and clear the task.
""",
    "ingest": """
Loads every not-yet-loaded file of this feed that month M may see (P5) into bitemporal staging,
one transaction per file. CPR numbers are checked and replaced by `person_key` here (stored once in
`dim_person`; the staged rows carry its `person_id`). Bad rows go
to `ingest_rejects` with line number and reason; the log prints `read = loaded + rejected` per
file. **On failure** the message names the file and the problem (encoding, missing column, empty
snapshot, size limit): fix or replace that file in the landing zone and clear the task. Nothing
is half-loaded.
""",
    "check_inputs": """
Great Expectations suites on the deliveries new to this run (`expectations/stg_*.json`): a scheduled
month its own files, a first run or a backfill everything it loaded. **On failure** the message says
which expectation failed on how many rows; the run's *Data Docs* link shows the rows. The month is
not built, so the bad delivery fails the next month too until it is redelivered: fix the delivery,
then clear `ingest` and this task.
""",
    "check_markings": """
The marking data-quality rules (DOMAIN's DQ table) on month M's snapshot; violations are written
to `dq_marking_violations` for the municipalities and **never stop the run**. **On failure** (an
error, not a violation): read the log; the month can be rerun.
""",
    "build_marts": """
Computes FSM1 visitation (V1–V4), activity share (A1–A2) and tranche status (P1–P5), and FSM2's
result shares in its period, for month M, and replaces M's rows in the marts in one transaction.
**On failure** nothing is written: read the log (the SQL model is named), fix, clear the task.
""",
    "check_marts": """
Great Expectations suites on month M's mart rows (`expectations/mart_*.json`): keys unique,
percentages 0–100, visited + deferred + unvisited = target, three tranches per municipality adding
up to its grant. **On failure** the message names the expectation and the row count: the marts
are wrong, **do not send the report**; open the run's *Data Docs*, fix the model, rerun the month.
""",
    "write_report": """
Writes the finance report for month M: `tranche_report.xlsx`, `.html` and `.csv` under
`@reports_dir@/<YYYY-MM>/` (a backfill writes every month's). The *Tranche report* link opens it.
**On failure:** check the folder exists and is writable by Airflow; clear the task.
""",
    "publish": """
Returns the run's summary (the month and its report folder). The Assets `fsm.staging.<feed>`,
`fsm.marts` and `fsm.tranche_report` are updated by the tasks that write them (ingest, build_marts,
write_report), once a run, with the month in the event. **On failure:** nothing is lost; clear it.
""",
}
DAG_DOC = _fill(DAG_DOC)
TASK_DOCS = {task: _fill(doc) for task, doc in TASK_DOCS.items()}
