"""Lineage: one month through the DAG (dag.test) with OpenLineage's file transport; each task's inputs and
outputs in the emitted events, each dataset once a run, the month on every task event, and the Airflow
Asset events (once a run each, the month in their extra). Plus the names, and quiet when not configured."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MONTH = "2017-08"
# The run in a process of its own: OpenLineage reads its settings once, when Airflow loads its plugins.
SCRIPT = r"""
import json, sys
from fsm_dev.run import load_dag, run_month
dag = load_dag()
for t in dag.tasks:
    t.retries = 0  # a failure shows at once
run_month(dag, sys.argv[1])
from airflow.models.asset import AssetEvent, AssetModel
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session
from sqlalchemy import select
with create_session() as session:
    run_id = session.scalars(select(DagRun.run_id).where(DagRun.dag_id == dag.dag_id).order_by(DagRun.id.desc())).first()
    rows = session.execute(select(AssetModel.name, AssetEvent.source_task_id, AssetEvent.extra).join(AssetEvent.asset)
                           .where(AssetEvent.source_dag_id == dag.dag_id, AssetEvent.source_run_id == run_id)).all()
print("ASSET_EVENTS " + json.dumps([list(r) for r in rows]))
"""


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    from fsm_dev.synth import generate

    root = tmp_path_factory.mktemp("lineage") / "landing"
    generate(root, seed=7, scale="tiny", start=MONTH, end=MONTH)
    return root


def _dataset(d: dict) -> tuple[str, str]:
    return d["namespace"], d["name"]


def _json_objects(text: str) -> list[dict]:
    """Every event in the file transport's output. The provider emits from more than one process, and an
    append could land without a line break between two events (seen once in make test: 'Extra data' at char
    1871); each whole JSON object is read, whatever whitespace separates them."""
    decoder, blank, out = json.JSONDecoder(), re.compile(r"\s*"), []
    i = blank.match(text).end()
    while i < len(text):
        obj, i = decoder.raw_decode(text, i)
        out.append(obj)
        i = blank.match(text, i).end()
    return out


@pytest.mark.slow
def test_one_month_emits_each_tasks_inputs_and_outputs_once_with_the_month(wh, landing, tmp_path):
    from fsm.ops import lineage
    from fsm.quality.checks import INPUT_SUITES, MART_SUITES
    from fsm.transform import manifest

    events_file, reports = tmp_path / "openlineage.jsonl", tmp_path / "reports"
    env = {
        **os.environ,
        "FSM_LANDING": str(landing),
        "FSM_REPORTS_DIR": str(reports),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "dev")]),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(events_file), "append": True}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "fsm-monitor",
        "AIRFLOW__OPENLINEAGE__CUSTOM_RUN_FACETS": "fsm.ops.lineage.month_run_facet",
    }
    done = subprocess.run([sys.executable, "-c", SCRIPT, MONTH], env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-5000:] + done.stdout[-5000:]
    assert "No converter found" not in done.stdout + done.stderr

    events = _json_objects(events_file.read_text())
    tasks = [e for e in events if e["job"]["name"].count(".") >= 1 and e["job"]["name"] != "fsm_monthly_monitoring"]
    assert tasks and all(e["job"]["namespace"] == "fsm-monitor" for e in events)
    # the month on every task event (START and COMPLETE), as the run facet `fsm`
    for e in tasks:
        assert e["run"]["facets"]["fsm"]["month"] == MONTH and e["run"]["facets"]["fsm"]["backfill"] is False, e["job"]
    assert len({e["run"]["facets"]["parent"]["run"]["runId"] for e in tasks}) == 1  # one run of the DAG

    complete = {e["job"]["name"].rsplit(".", 1)[-1]: e for e in tasks if e["eventType"] == "COMPLETE"}
    got = {t: ({_dataset(d) for d in e["inputs"]}, {_dataset(d) for d in e["outputs"]}) for t, e in complete.items()}

    netloc, db = lineage.warehouse_netloc_and_db()

    def pg(*tables: str) -> set[tuple[str, str]]:
        return {(f"postgres://{netloc}", f"{db}.public.{t}") for t in tables}

    def files(*paths: Path) -> set[tuple[str, str]]:
        return {("file", str(p.resolve())) for p in paths}

    fsm1_marts = [m.name for m in manifest.FSM1.marts]
    report_files = [p for p in (reports / MONTH).iterdir() if p.is_file()]  # tranche_report.* (data_docs/ is GX's)
    assert {"tranche_report.xlsx", "tranche_report.html", "tranche_report.csv"} <= {p.name for p in report_files}
    fsm1_reads = lineage.staging_read_by(["FSM1"])  # the staging tables FSM1's SQL models name
    assert {"stg_marking_versions", "stg_tilbud", "stg_timer", "stg_allocations"} <= set(fsm1_reads)  # markings as versions
    expected = {
        "wait_for_month_files": (set(), set()),
        "prepare_warehouse": (set(), set()),
        "ingest_markings": (files(landing / "markings"), pg("stg_markings")),
        "ingest_ydelse": (files(landing / "registers" / "ydelse"), pg("stg_ydelse")),
        "ingest_tilbud": (files(landing / "registers" / "tilbud"), pg("stg_tilbud")),
        "ingest_timer": (files(landing / "registers" / "timer"), pg("stg_timer")),
        "ingest_uddannelse": (files(landing / "registers" / "uddannelse"), pg("stg_uddannelse")),
        "ingest_allocations": (files(landing / "reference"), pg("stg_allocations")),
        "check_inputs": (pg(*INPUT_SUITES), set()),
        "check_markings": (pg("stg_markings", "stg_marking_versions", "stg_ydelse"), pg("dq_marking_violations")),
        "build_marts": (pg(*fsm1_reads), pg(*fsm1_marts)),
        "check_marts": (pg(*MART_SUITES), set()),
        "write_report": (
            pg(*[m.name for p in manifest.PROGRAMMES.values() for m in p.marts], "dq_marking_violations"),
            files(*report_files),
        ),
        "publish": (set(), set()),
    }
    assert got == expected

    # each dataset written once in the run, by its writer's COMPLETE event; nothing unconvertible dropped
    written = [_dataset(d) for e in complete.values() for d in e["outputs"]]
    assert len(written) == len(set(written)) == 6 + 1 + len(fsm1_marts) + len(report_files)
    assert all(ns.startswith(("postgres://", "file")) for ns, _ in written)

    # Airflow's Asset events: each Asset once a run, by the task that writes it, the month and URIs in extra
    line = next(x for x in done.stdout.splitlines() if x.startswith("ASSET_EVENTS "))
    asset_events = json.loads(line.removeprefix("ASSET_EVENTS "))
    by_name = {name: (task, extra) for name, task, extra in asset_events}
    assert len(by_name) == len(asset_events) == 8
    feeds = ("markings", "ydelse", "tilbud", "timer", "uddannelse", "allocations")
    assert {n: t for n, (t, _) in by_name.items()} == {
        **{f"fsm.staging.{f}": f"ingest.ingest_{f}" for f in feeds},
        "fsm.marts": "transform.build_marts",
        "fsm.tranche_report": "write_report",
    }
    for name, (_, extra) in by_name.items():
        assert extra["month"] == MONTH and extra["backfill"] is False, name
    assert by_name["fsm.staging.ydelse"][1]["uris"] == [lineage.table_uri("stg_ydelse")]
    assert by_name["fsm.marts"][1]["uris"] == [lineage.table_uri(m) for m in fsm1_marts]
    assert by_name["fsm.tranche_report"][1]["uris"][0].startswith(f"file://{reports.resolve()}/{MONTH}/")


def test_dataset_names(monkeypatch, tmp_path):
    from airflow.sdk import Asset

    from fsm import warehouse
    from fsm.ops import lineage

    for url, expected in (
        ("postgresql://fsm:s3cret@warehouse:5432/fsm", "postgres://warehouse:5432/fsm/public/stg_markings"),
        ("postgres://fsm@db.example.dk/fsm", "postgres://db.example.dk:5432/fsm/public/stg_markings"),
        ("postgresql://postgres:@/postgres?host=/tmp/pg&port=5544", "postgres://localhost:5544/postgres/public/stg_markings"),
    ):
        monkeypatch.setenv("FSM_WAREHOUSE_URL", url)
        warehouse.url.cache_clear()
        uri = lineage.table_uri("stg_markings")
        assert uri == expected and "s3cret" not in uri
        assert Asset(uri=uri).uri == expected  # valid for the Postgres provider's normaliser, unchanged by it
    warehouse.url.cache_clear()
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path / "rep orts"))
    from datetime import date

    assert lineage.report_uris(date(2018, 3, 1), ["tranche_report.csv"]) == [
        f"file://{(tmp_path / 'rep orts').resolve()}/2018-03/tranche_report.csv".replace(" ", "%20")
    ]
    assert lineage.file_uri("s3://bucket/fsm/markings/") == "s3://bucket/fsm/markings"


def test_openlineage_is_disabled_and_emit_is_a_no_op_without_a_transport(monkeypatch):
    """make run / make test configure no transport: the provider disables itself (no listener, no events)."""
    from datetime import date

    from airflow.providers.openlineage import conf

    from fsm.ops import lineage

    for name in list(os.environ):
        if name.startswith(("AIRFLOW__OPENLINEAGE__", "OPENLINEAGE_", "OPENLINEAGE__")):
            monkeypatch.delenv(name)
    cached = [fn for fn in vars(conf).values() if hasattr(fn, "cache_clear")]
    for fn in cached:
        fn.cache_clear()
    try:
        assert conf.is_disabled()
    finally:
        for fn in cached:
            fn.cache_clear()
    lineage.emit(date(2017, 8, 1), inputs=["file:///x"], outputs=["file:///y"])  # outside a task: nothing, no error
    lineage.task_started()
