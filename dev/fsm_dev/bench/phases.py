"""The bench's phases, each run by the orchestrator in a fresh interpreter: generate, airflow-db, parse, noop/month/backfill/steady (`dag.test()`), floor."""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from collections import Counter
from datetime import date
from pathlib import Path

from fsm import months
from fsm.config import PROJECT_ROOT, settings


def _phase_generate(a: argparse.Namespace) -> dict:
    from fsm_dev.synth import generate

    landing = Path(settings().landing_root)
    manifest_path = landing / "manifest.json"
    before = manifest_path.stat().st_mtime_ns if manifest_path.exists() else None
    end = max(a.month, a.fsm2_month) if "FSM2" in a.programmes.upper() else a.month
    kwargs = {"seed": a.seed, "scale": a.scale, "start": "2017-08", "end": end, "fmt": a.fmt, "programmes": a.programmes}
    t0 = time.perf_counter()
    m = generate(landing, **kwargs)
    seconds = time.perf_counter() - t0
    after = manifest_path.stat().st_mtime_ns if manifest_path.exists() else None
    rows: Counter[str] = Counter()
    for info in m["files"].values():
        rows[info["feed"]] += info["rows"]
    size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file() and p.suffix in (".csv", ".parquet"))
    return {
        "seconds": round(seconds, 2),
        "cached": before is not None and before == after,
        "generator_citizens": m.get("citizens"),
        "fsm2_citizens": m.get("fsm2_citizens"),
        "files": len(m["files"]),
        "rows_by_feed": dict(sorted(rows.items())),
        "bytes": size,
    }


def _phase_airflow_db(a: argparse.Namespace) -> dict:
    from fsm.ops import airflow_env

    t0 = time.perf_counter()
    airflow_env.migrate_metadata()
    return {"seconds": round(time.perf_counter() - t0, 2)}


def _phase_parse(a: argparse.Namespace) -> dict:
    import importlib.util

    from fsm.ops import airflow_env

    airflow_env.configure()
    t0 = time.perf_counter()
    import airflow.sdk  # noqa: F401 (the DAG processor has Airflow imported before it parses a file)

    t1 = time.perf_counter()
    path = PROJECT_ROOT / "dags" / "fsm_monthly_monitoring.py"
    spec = importlib.util.spec_from_file_location("fsm_monthly_monitoring_parse", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    t2 = time.perf_counter()
    assert module.monthly_dag.task_dict
    return {"airflow_import_ms": round((t1 - t0) * 1000, 1), "dag_file_ms": round((t2 - t1) * 1000, 1)}


def _phase_dag(a: argparse.Namespace, kind: str) -> dict:
    from fsm.ops import airflow_env
    from fsm_dev.run import load_dag, run_month

    airflow_env.configure()
    dag = load_dag()
    for task in dag.tasks:  # a failed task fails the bench now, not after dag.test() sat out the retry delays
        task.retries = 0
    ctx = contextlib.nullcontext()
    if kind == "noop":
        from fsm_dev.bench.noop import noop_pipeline

        ctx = noop_pipeline()
    history = None
    if kind == "steady":
        history = _steady_history(dag, months.parse_month(a.month))
    with ctx:
        seconds = run_month(dag, a.month, backfill=(kind == "backfill"))
    tasks, gaps = _task_timings(dag.dag_id, seconds)
    out = {"seconds": round(seconds, 3), "tasks": tasks, "gaps_s": gaps}
    if history is not None:
        out["history"] = history
    if kind != "noop":
        out["facts"] = _warehouse_facts(months.parse_month(a.month))
        out["facts"]["programmes"] = ",".join(settings().programmes)
    return out


def _steady_history(dag, month: date) -> dict:
    """The steady state's history: project start … M−1 in one backfill run of the real DAG, so that month M's
    run then finds only M's files new, as the scheduled run does. The history's reports are not written
    (`report` alone is the no-op twin's): a month's report reads the warehouse, never an earlier report."""
    from fsm import pipeline
    from fsm.config import rules
    from fsm_dev.bench.noop import NOOPS
    from fsm_dev.run import run_month

    prev = months.prev_month(month)
    if prev < rules().project_start:  # the first month has no history: its steady state is its cold run
        return {"until": None, "seconds": 0.0, "tasks": []}
    saved = pipeline.report
    pipeline.report = NOOPS["report"]
    try:
        seconds = run_month(dag, months.label(prev), backfill=True)
    finally:
        pipeline.report = saved
    tasks, _gaps = _task_timings(dag.dag_id, seconds)
    return {"until": months.label(prev), "seconds": round(seconds, 3), "tasks": tasks}


def _task_timings(dag_id: str, seconds: float) -> tuple[list[dict], float]:
    """Per task of the newest run of `dag_id`: seconds and state, in the order they ran; and the
    run's time outside any task (the dag.test loop, bundle sync, serialisation)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        dr = s.scalars(select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)).first()
        rows = s.execute(
            select(TaskInstance.task_id, TaskInstance.start_date, TaskInstance.end_date, TaskInstance.state).where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == dr.run_id
            )
        ).all()
    rows = sorted(rows, key=lambda r: (r.start_date is None, r.start_date))
    tasks = [
        {
            "task": r.task_id,
            "s": round((r.end_date - r.start_date).total_seconds(), 3) if r.start_date and r.end_date else None,
            "state": str(r.state),
        }
        for r in rows
    ]
    return tasks, round(seconds - sum(t["s"] or 0 for t in tasks), 3)


def _warehouse_facts(month: date) -> dict:
    from fsm.warehouse import connect

    with connect() as conn:
        citizens = conn.execute(
            "select coalesce(sum(target_n), 0) from mart_visitation_progress where programme = 'FSM1' and as_of_month = %s",
            (month,),
        ).fetchone()[0]
        feeds = conn.execute(
            "select feed, count(*), sum(rows_read), sum(rows_loaded), sum(rows_rejected), sum(size_bytes)"
            " from ingest_file group by feed order by feed"
        ).fetchall()
        tables = conn.execute(
            "select relname, pg_total_relation_size(oid) from pg_class"
            " where relkind = 'r' and relnamespace = 'public'::regnamespace and (relname like 'stg_%%' or relname like 'mart_%%'"
            " or relname like 'dq_%%' or relname = 'ingest_rejects') order by 2 desc"
        ).fetchall()
        db_bytes = conn.execute("select pg_database_size(current_database())").fetchone()[0]
        staged = {}
        # bytes per staged row: heap (with TOAST) and indexes apart; dim_person (V011) holds each citizen's key once;
        # the markings are stored as versions and per-snapshot lines (V009; stg_markings is a view over them)
        for table in ("stg_ydelse", "stg_marking_versions", "stg_marking_lines", "dim_person"):
            if conn.execute("select to_regclass(%s)", (table,)).fetchone()[0] is None:
                continue
            n, heap, idx = conn.execute(
                f"select (select count(*) from {table}), pg_table_size(%s::regclass), pg_indexes_size(%s::regclass)",
                (table, table),
            ).fetchone()
            staged[table] = {
                "rows": int(n),
                "table_bytes": int(heap),
                "index_bytes": int(idx),
                "total_bytes": int(heap + idx),
                "bytes_per_row": round((heap + idx) / n, 1) if n else None,
                "table_bytes_per_row": round(heap / n, 1) if n else None,
                "index_bytes_per_row": round(idx / n, 1) if n else None,
            }
        # FSM2 (F7): the target group of the month itself, all origins
        fsm2_target = conn.execute(
            "select coalesce(sum(target_n), 0) from mart_fsm2_result"
            " where as_of_month = %s and activity_month = %s and herkomst = 'ALL'",
            (month, month),
        ).fetchone()[0]
    by_feed = {
        f: {"files": n, "rows_read": int(r), "rows_loaded": int(lo), "rows_rejected": int(rj), "bytes": int(b)}
        for f, n, r, lo, rj, b in feeds
    }
    return {
        "citizens": int(citizens),
        "fsm2_target_n": int(fsm2_target),
        "benefit_rows": int(by_feed.get("ydelse", {}).get("rows_loaded") or 0),
        "ingested": by_feed,
        "staged": staged,
        "table_mb": {t: round(b / 2**20, 1) for t, b in tables},
        "database_mb": round(db_bytes / 2**20, 1),
    }


def _phase_floor(a: argparse.Namespace) -> dict:
    """COPY exactly the files the month's run reads into unindexed text tables, then one aggregate scan."""
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from fsm.contract import FEED_NAMES
    from fsm.ingest import LandingZone, files_for_month

    month = months.parse_month(a.month)
    zone = LandingZone()
    files = [f for feed in FEED_NAMES for f in files_for_month(zone, feed, month)]
    tables: dict[tuple[str, tuple[str, ...]], str] = {}
    decode_s = copy_s = 0.0
    rows = nbytes = 0
    with psycopg.connect(settings().warehouse_url, autocommit=True) as conn:
        server_version = conn.execute("show server_version").fetchone()[0]
        for f in files:
            t0 = time.perf_counter()
            with zone.open(f) as fh:
                data = fh.read()
            if f.fmt == "parquet":
                table = pq.read_table(pa.BufferReader(data))
            else:
                head = data.split(b"\n", 1)[0]
                sep = ";" if head.count(b";") >= head.count(b",") else ","
                table = pacsv.read_csv(
                    pa.BufferReader(data),
                    parse_options=pacsv.ParseOptions(delimiter=sep, invalid_row_handler=lambda _row: "skip"),
                    convert_options=pacsv.ConvertOptions(column_types={}, strings_can_be_null=False, auto_dict_encode=False),
                    read_options=pacsv.ReadOptions(autogenerate_column_names=False),
                )
            names = tuple(c.strip().lower() for c in table.column_names)
            sink = io.BytesIO()
            pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False))
            payload = sink.getbuffer()
            decode_s += time.perf_counter() - t0
            key = (f.feed, names)
            if key not in tables:
                tables[key] = f"floor_{f.feed}_{sum(k[0] == f.feed for k in tables)}"
                cols = ", ".join(f'"{c}" text' for c in names)
                conn.execute(f"create table {tables[key]} ({cols})")
            t0 = time.perf_counter()
            with conn.cursor() as cur, cur.copy(f"copy {tables[key]} from stdin (format csv)") as cp:
                for i in range(0, len(payload), 1 << 20):
                    cp.write(payload[i : i + (1 << 20)])
            copy_s += time.perf_counter() - t0
            rows += table.num_rows
            nbytes += len(data)
        parts = []
        for (feed, names), t in tables.items():
            if "cpr" in names:
                kommune = '"kommune_kode"' if "kommune_kode" in names else "null::text"
                parts.append(f"select '{feed}' as src, {kommune} as kommune_kode, cpr from {t}")
        t0 = time.perf_counter()
        groups = conn.execute(
            "select src, kommune_kode, count(distinct cpr) from (" + " union all ".join(parts) + ") as s group by 1, 2"
        ).fetchall()
        scan_s = time.perf_counter() - t0
    return {
        "seconds": round(decode_s + copy_s + scan_s, 3),
        "decode_s": round(decode_s, 3),
        "copy_s": round(copy_s, 3),
        "scan_s": round(scan_s, 3),
        "files": len(files),
        "rows": rows,
        "bytes": nbytes,
        "tables": len(tables),
        "scan_groups": len(groups),
        "server_version": server_version,
    }


def run_phase(a: argparse.Namespace) -> dict:
    """The phase `a.phase`, in this interpreter; its JSON-able result."""
    if a.phase == "generate":
        return _phase_generate(a)
    if a.phase == "airflow-db":
        return _phase_airflow_db(a)
    if a.phase == "parse":
        return _phase_parse(a)
    if a.phase in ("noop", "month", "backfill", "steady"):
        return _phase_dag(a, a.phase)
    if a.phase == "floor":
        return _phase_floor(a)
    raise SystemExit(f"unknown bench phase {a.phase!r}")
