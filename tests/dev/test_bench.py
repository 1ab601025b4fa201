"""`make bench` plumbing (issue 8): the no-op twin, the summary line, and a whole bench at tiny scale."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(
    r"^bench: month_run_s=(?P<month_run_s>[\d.]+) overhead_s=(?P<overhead_s>[\d.]+) floor_s=(?P<floor_s>[\d.]+)"
    r" ratio=(?P<ratio>-?[\d.]+) backfill_s=(?P<backfill_s>[\d.]+|n/a) backfill_ratio=(?P<backfill_ratio>[\d.]+|n/a)"
    r" peak_rss_mb=(?P<peak_rss_mb>\d+) parse_ms=(?P<parse_ms>\d+) citizens=(?P<citizens>\d+) benefit_rows=(?P<benefit_rows>\d+)"
    r"(?: fsm2_month_s=(?P<fsm2_month_s>[\d.]+) fsm2_floor_s=(?P<fsm2_floor_s>[\d.]+) fsm2_ratio=(?P<fsm2_ratio>-?[\d.]+|n/a)"
    r" fsm2_target_n=(?P<fsm2_target_n>\d+) fsm2_benefit_rows=(?P<fsm2_benefit_rows>\d+))?"
    r"(?: steady_s=(?P<steady_s>[\d.]+|n/a) steady_over_overhead_s=(?P<steady_over_overhead_s>-?[\d.]+|n/a)"
    r" bytes_per_benefit_row=(?P<bytes_per_benefit_row>\d+|n/a))?$"
)


def test_noop_twin_replaces_every_pipeline_call_of_the_dag():
    """Every task's work comes from fsm.pipeline; the twin must replace each such call, with the same parameters."""
    from fsm import pipeline
    from fsm_dev.bench.noop import NOOPS, noop_pipeline

    dag_text = (ROOT / "dags" / "fsm_monthly_monitoring.py").read_text(encoding="utf-8")
    called = set(re.findall(r"from fsm\.pipeline import (\w+)", dag_text))
    assert called, "the DAG file no longer imports its work from fsm.pipeline: update fsm_dev.bench.noop"
    assert called <= set(NOOPS), f"not replaced by the no-op twin: {sorted(called - set(NOOPS))}"
    assert "fsm.pipeline" not in re.sub(r"from fsm\.pipeline import \w+", "", dag_text), "another use of fsm.pipeline"
    for name, fn in NOOPS.items():
        real = getattr(pipeline, name)
        assert list(inspect.signature(fn).parameters) == list(inspect.signature(real).parameters), name
    originals = {name: getattr(pipeline, name) for name in NOOPS}
    with noop_pipeline():
        assert all(getattr(pipeline, n) is NOOPS[n] for n in NOOPS)
    assert all(getattr(pipeline, n) is originals[n] for n in NOOPS)


def test_summary_line_and_profile_summary():
    from fsm_dev.bench import summarise_pyspy, summary_line, transform_models

    figures = {
        "month_run_s": 61.234,
        "overhead_s": 7.5,
        "floor_s": 4.25,
        "ratio": 12.6,
        "backfill_s": None,
        "backfill_ratio": None,
        "peak_rss_mb": 1234.4,
        "parse_ms": 61.6,
        "citizens": 24000,
        "benefit_rows": 3140775,
    }
    line = summary_line(figures)
    m = LINE.match(line)
    assert m, line
    assert m["backfill_s"] == "n/a" and m["peak_rss_mb"] == "1234" and m["parse_ms"] == "62" and m["fsm2_month_s"] is None
    # FSM2's figures follow the required ones; those keep their names and order
    fsm2 = {
        "fsm2_month_s": 80.0,
        "fsm2_floor_s": 20.5,
        "fsm2_ratio": 3.5,
        "fsm2_target_n": 30000,
        "fsm2_benefit_rows": 16_000_000,
    }
    line2 = summary_line({**figures, **fsm2})
    m2 = LINE.match(line2)
    assert m2 and line2.startswith(line + " ") and m2["fsm2_month_s"] == "80.00" and m2["fsm2_benefit_rows"] == "16000000"

    raw = (
        "<module> (/x/dev/fsm_dev/run.py:1);run_month (/x/dev/fsm_dev/run.py:40);load_file (/x/plugins/fsm/ingest.py:600);write_row (/v/site-packages/psycopg/copy.py:10) 30\n"
        "<module> (/x/dev/fsm_dev/run.py:1);run_month (/x/dev/fsm_dev/run.py:40);_run (/x/plugins/fsm/transform.py:100);execute (/v/site-packages/psycopg/cursor.py:5) 70\n"
    )
    s = summarise_pyspy(raw)
    assert s["samples"] == 100
    assert ["fsm.transform._run", 70.0] in s["inclusive_pct"] and ["fsm.ingest.load_file", 30.0] in s["inclusive_pct"]
    assert s["self_pct"][0] == ["execute (psycopg/cursor.py)", 70.0]

    # issue 17's figures close the line, after FSM2's; every earlier figure keeps its name and place
    steady = {"steady_s": 12.345, "steady_over_overhead_s": 4.845, "bytes_per_benefit_row": 241.4}
    line3 = summary_line({**figures, **fsm2, **steady})
    m3 = LINE.match(line3)
    assert m3 and line3.startswith(line2 + " ") and m3["steady_s"] == "12.35" and m3["bytes_per_benefit_row"] == "241"
    line4 = summary_line({**figures, "steady_s": None, "steady_over_overhead_s": None, "bytes_per_benefit_row": None})
    m4 = LINE.match(line4)
    assert m4 and m4["steady_s"] == "n/a" and m4["fsm2_month_s"] is None

    log = "INFO fsm.transform: FSM1 2019-12: wrote {'mart_x': 3} in 1.5s, 28 earlier as-of months reused ({'int_a': 1.0, 'mart_x': 0.5})"
    assert transform_models(log) == {"FSM1": {"seconds": 1.5, "months_reused": 28, "models": {"int_a": 1.0, "mart_x": 0.5}}}
    old = "INFO fsm.transform: FSM2 2021-12: wrote {'mart_x': 3} in 1.5s ({'int_a': 1.0})"  # before issue 17's reuse
    assert transform_models(old) == {"FSM2": {"seconds": 1.5, "months_reused": 0, "models": {"int_a": 1.0}}}


@pytest.mark.slow
def test_bench_at_tiny_scale(tmp_path):
    """The whole bench, every phase in its own interpreter, on bench-private state outside pytest's basetemp:
    as root, pgserver runs PostgreSQL as its own user, which cannot enter /tmp/pytest-of-root (mode 0700)."""
    import shutil
    import tempfile

    tmp_path = Path(tempfile.mkdtemp(prefix="fsm-bench-test-"))
    tmp_path.chmod(0o755)
    try:
        _bench_at_tiny_scale(tmp_path)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def _bench_at_tiny_scale(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSM_", "AIRFLOW"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "dev")])
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "fsm_dev.bench", "--scale", "tiny", "--month", "2017-09", "--fsm2-month", "2019-02",
         "--work-dir", str(tmp_path / "work"), "--out", str(out)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    m = LINE.match(last)
    assert m, last

    doc = json.loads((out / "tiny.json").read_text())
    f = doc["bench"]
    assert doc["line"] == last
    # The figures are stored rounded; the ratios were computed before rounding.
    work = f["month_run_s"] - f["overhead_s"]  # each figure rounded to 0.01 s: bound the ratio by that rounding
    assert (work - 0.01) / (f["floor_s"] + 0.005) - 0.1 <= f["ratio"] <= (work + 0.01) / max(f["floor_s"] - 0.005, 1e-3) + 0.1
    assert f["backfill_ratio"] == pytest.approx(f["backfill_s"] / f["month_run_s"], rel=0.02, abs=0.01)
    assert f["citizens"] > 0 and f["benefit_rows"] == doc["month_run"]["facts"]["ingested"]["ydelse"]["rows_loaded"] > 0
    assert f["peak_rss_mb"] > 0 and doc["peak_rss_mb_by_phase"]["month"]["postgres_mb"] > 0
    # the twin has the real DAG's shape, and every task ran in both
    noop_tasks = [t["task"] for t in doc["overhead"]["tasks"]]
    month_tasks = [t["task"] for t in doc["month_run"]["tasks"]]
    assert sorted(noop_tasks) == sorted(month_tasks) and len(month_tasks) >= 10
    assert {t["state"] for t in doc["overhead"]["tasks"] + doc["month_run"]["tasks"]} == {"success"}
    assert "FSM1" in doc["month_run"]["transform_models"]
    # the floor COPYed exactly the files the run ingested, every row of them
    ingested = doc["month_run"]["facts"]["ingested"]
    assert doc["floor"]["files"] == sum(v["files"] for v in ingested.values())
    assert doc["floor"]["rows"] == sum(v["rows_read"] for v in ingested.values())
    # its own embedded warehouse
    assert (tmp_path / "work" / "pg" / "PG_VERSION").exists()
    # FSM2 (the default country has it): a cold FSM2 month, its floor, figures in the line and the JSON
    assert m["fsm2_month_s"] is not None and f["fsm2_month_s"] > 0 and f["fsm2_floor_s"] > 0
    assert doc["fsm2"]["month"] == "2019-02" and doc["fsm2"]["run"]["facts"]["programmes"] == "FSM2"
    assert doc["month_run"]["facts"]["programmes"] == "FSM1" and "FSM2" in doc["fsm2"]["run"]["transform_models"]
    assert f["fsm2_target_n"] == doc["fsm2"]["run"]["facts"]["fsm2_target_n"] > 0
    assert f["fsm2_benefit_rows"] == doc["fsm2"]["run"]["facts"]["ingested"]["ydelse"]["rows_loaded"] > f["benefit_rows"]
    fsm2_ingested = doc["fsm2"]["run"]["facts"]["ingested"]
    assert doc["fsm2"]["floor"]["rows"] == sum(v["rows_read"] for v in fsm2_ingested.values())
    _steady_state_and_bytes(doc, m)


def _steady_state_and_bytes(doc: dict, m: re.Match) -> None:
    """Issue 17: the steady-state month (history to M−1 by a backfill, then M alone) and staged bytes per benefit row."""
    from fsm_dev.bench.figures import goals_table

    f, steady = doc["bench"], doc["steady"]
    assert m["steady_s"] == f"{f['steady_s']:.2f}" and f["steady_s"] == pytest.approx(steady["seconds"], abs=0.006)
    assert steady["seconds"] > 0
    assert f["steady_over_overhead_s"] == pytest.approx(f["steady_s"] - f["overhead_s"], abs=0.011)
    # the history is the months before M, built by one backfill run; M's run then ran every task
    assert steady["history"]["until"] == "2017-08" and steady["history"]["seconds"] > 0
    assert {t["state"] for t in steady["history"]["tasks"] + steady["tasks"]} == {"success"}
    assert sorted(t["task"] for t in steady["tasks"]) == sorted(t["task"] for t in doc["month_run"]["tasks"])
    # the same warehouse contents as the cold month's at the end: every file once, the same benefit rows
    assert steady["facts"]["ingested"] == doc["month_run"]["facts"]["ingested"]
    assert steady["facts"]["citizens"] == f["citizens"] and "FSM1" in steady["transform_models"]
    assert "steady" in doc["peak_rss_mb_by_phase"]
    # staged bytes: table + indexes over the staged rows of stg_ydelse after the cold month
    y = doc["staged"]["stg_ydelse"]
    assert y["rows"] == f["benefit_rows"] and y["total_bytes"] == y["table_bytes"] + y["index_bytes"]
    assert y["table_bytes"] > 0 and y["index_bytes"] > 0
    assert f["bytes_per_benefit_row"] == pytest.approx(y["total_bytes"] / y["rows"], abs=0.06)
    assert 20 < f["bytes_per_benefit_row"] < 10_000 and m["bytes_per_benefit_row"] == f"{round(f['bytes_per_benefit_row'])}"
    # the goals table (issue 17) is in the JSON and prints from it
    goals = {g["figure"]: g for g in doc["goals"]}
    assert len(goals) == 7 and all(g["goal"] is not None and g["value"] is not None for g in goals.values())
    steady_goal = next(g for name, g in goals.items() if name.startswith("steady-state"))
    assert steady_goal["goal"] == pytest.approx(f["overhead_s"] + 10) and steady_goal["value"] == f["steady_s"]
    assert steady_goal["met"] == (f["steady_s"] <= f["overhead_s"] + 10)
    table = goals_table(doc)
    assert table.count("\n| ") == 8 and "staged bytes per benefit row" in table
