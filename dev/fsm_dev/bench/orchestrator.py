"""`make bench`: fsm_monthly_monitoring at the size of Denmark, every figure measured in one run (issue 8).

python -m fsm.bench [--scale national] [--month 2019-12] [--seed 42] [--fmt parquet]
                    [--programmes FSM1,FSM2] [--fsm2-month 2021-12] [--no-backfill] [--profile]
                    [--out bench] [--work-dir DIR]

Everything runs against bench-private state under `data/bench/<scale>/` (or --work-dir): the
synthetic landing zone (cached by the generator's manifest: seed, scale, months, format,
programmes), an embedded PostgreSQL server (`pg/`, one fresh database per phase), an Airflow
home with its own SQLite metadata (`airflow/`), GX projects and reports (`runs/<phase>/`) and the
log of each phase (`logs/<phase>.log`). It never touches `data/pg`, `.airflow` or `reports/`.

Each phase runs in a fresh interpreter (as an Airflow worker would), one after the other:

  parse     import of dags/fsm_monthly_monitoring.py in a fresh interpreter, 3 times (median). parse_ms
            is the DAG file alone with `airflow.sdk` already imported (what the DAG processor pays
            per parse); parse_cold_ms adds Airflow's own import.
  noop      overhead_s: the real DAG object through `dag.test()` with every task's work a no-op
            (fsm.bench_noop): same dag_id, task ids, groups, dependencies and operator kinds.
  month     month_run_s: a cold run of the month through `fsm.run.run_month(dag, month)`: a fresh
            warehouse database (server started, schema not yet migrated), nothing of the landing
            zone loaded, so the run migrates, ingests everything it needs, checks, transforms, reports.
  floor     floor_s: the physical floor of that data work: the same files (fsm.ingest.files_for_month)
            decoded to CSV by Arrow and COPYed into unindexed all-text scratch tables, plus one
            grouped distinct count over the staged markings and registers.
  backfill  backfill_s: project start … month in one set-based pass (`run_month(..., backfill=True)`)
            on a fresh warehouse database.
  fsm2      (with FSM2 in --programmes) fsm2_month_s: a cold run of FSM2's last month (--fsm2-month)
            with FSM_PROGRAMMES=FSM2, the same way as `month`; fsm2_floor its COPY floor.
  profile   (--profile) the month run again, fresh, under py-spy (--idle: time waiting on
            PostgreSQL is charged to the call that waits); a summary goes into the JSON.

A sampler thread adds up the RSS of this process tree and of the PostgreSQL server's processes
every 0.2 s (RSS counts shared buffers once per backend that touched them: an upper bound).
The run ends with one line, and writes the same figures to `<out>/<scale>.json`:

  bench: month_run_s=… overhead_s=… floor_s=… ratio=… backfill_s=… backfill_ratio=… peak_rss_mb=… parse_ms=… citizens=… benefit_rows=…
         [fsm2_month_s=… fsm2_floor_s=… fsm2_ratio=… fsm2_target_n=… fsm2_benefit_rows=…]

ratio = (month_run_s − overhead_s) / floor_s; backfill_ratio = backfill_s / month_run_s.

The synthetic country is the whole landing zone of --programmes: with FSM2 (the default) the
registers and snapshots carry FSM2's ~100,000 citizens too (2017-08 … --fsm2-month), so the FSM1
month run reads them as the real registers would make it; `month`, `floor` and `backfill` run
FSM1 (FSM_PROGRAMMES=FSM1: the figures keep their meaning), and `fsm2` runs FSM2 on its own.
--programmes FSM1 reproduces the FSM1-only country of the first measurement.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from fsm.config import PROJECT_ROOT

PHASES_AIRFLOW = ("noop", "month", "backfill", "fsm2")
BENCH_PSEUDONYM_KEY = "fsm-bench-key-" + "b" * 24  # synthetic data only; a set key is what production has
PY_SPY_CANDIDATES = ("/tmp/resolve/v/bin/py-spy",)


# =========================================================================== orchestrator


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.month = _parse_month(args.month)
        self.work = Path(args.work_dir or PROJECT_ROOT / "data" / "bench" / args.scale).resolve()
        self.programmes = [p.strip().upper() for p in args.programmes.split(",") if p.strip()]
        self.fsm2 = "FSM2" in self.programmes
        # one landing zone per country: FSM1 alone, or FSM1 with FSM2 (each cached by the generator)
        self.landing = self.work / ("landing" if not self.fsm2 else "landing-fsm1-fsm2")
        self.pgdata = self.work / "pg"
        self.airflow_home = self.work / "airflow"
        self.logs = self.work / "logs"
        self.out = Path(args.out).resolve() if args.out else PROJECT_ROOT / "bench"
        self.server = None
        self.sampler: RssSampler | None = None

    # --- plumbing ------------------------------------------------------------------------
    def env(self, phase: str, database: str | None = None, programmes: str = "FSM1") -> dict[str, str]:
        env = os.environ.copy()
        # the bench's own warehouse; no slow-run DeadlineAlert (Airflow 3.3.2's dag.test() cannot finish a run with one)
        for key in ("FSM_WAREHOUSE_URL", "AIRFLOW_CONN_FSM_WAREHOUSE", "FSM_SLOW_RUN_ALERT_HOURS"):
            env.pop(key, None)
        plugins = str(PROJECT_ROOT / "plugins")
        run_dir = self.work / "runs" / phase
        env.update(
            {
                "FSM_PROJECT_ROOT": str(PROJECT_ROOT),
                "PYTHONPATH": os.pathsep.join(p for p in (plugins, env.get("PYTHONPATH", "")) if p),
                "PYTHONUNBUFFERED": "1",
                "AIRFLOW_HOME": str(self.airflow_home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.airflow_home}/airflow.db",
                "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "FSM_LANDING": str(self.landing),
                "FSM_DATA_DIR": str(run_dir),
                "FSM_REPORTS_DIR": str(run_dir / "reports"),
                "FSM_PROGRAMMES": programmes,
            }
        )
        env.setdefault("FSM_PSEUDONYM_KEY", BENCH_PSEUDONYM_KEY)
        if database:
            env["FSM_WAREHOUSE_URL"] = self.server.get_uri(database)
        return env

    def child(
        self,
        phase: str,
        name: str | None = None,
        database: str | None = None,
        wrap: list[str] | None = None,
        month: str | None = None,
        programmes: str = "FSM1",
    ) -> dict:
        """Run `python -m fsm.bench _phase <phase>` in a fresh interpreter; its JSON result."""
        name = name or phase
        self.logs.mkdir(parents=True, exist_ok=True)
        result = self.logs / f"{name}.json"
        result.unlink(missing_ok=True)
        run_dir = self.work / "runs" / name
        if phase in ("noop", "month", "backfill", "floor"):
            shutil.rmtree(run_dir, ignore_errors=True)
        cmd = [
            *(wrap or []),
            sys.executable,
            "-m",
            "fsm.bench",
            "_phase",
            phase,
            "--result",
            str(result),
            "--month",
            month or self.args.month,
            "--fsm2-month",
            self.args.fsm2_month,
            "--scale",
            self.args.scale,
            "--seed",
            str(self.args.seed),
            "--fmt",
            self.args.fmt,
            "--programmes",
            self.args.programmes,
        ]
        env = self.env(name, database, programmes)
        if self.sampler:
            self.sampler.phase = name
        t0 = time.perf_counter()
        with (self.logs / f"{name}.log").open("w") as log:
            try:
                rc = subprocess.run(
                    cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, timeout=self.args.phase_timeout
                ).returncode
            except subprocess.TimeoutExpired:
                rc = f"timeout after {self.args.phase_timeout:.0f}s"
        wall = time.perf_counter() - t0
        if self.sampler:
            self.sampler.phase = None
        if rc != 0 or not result.exists():
            tail = (self.logs / f"{name}.log").read_text(errors="replace").splitlines()[-40:]
            raise SystemExit(
                f"bench phase {name} failed ({rc if isinstance(rc, str) else f'exit {rc}'}); log {self.logs / (name + '.log')}:\n"
                + "\n".join(tail)
            )
        out = json.loads(result.read_text())
        out["process_wall_s"] = round(wall, 2)
        if phase in ("month", "backfill") and "tasks" in out:
            out["transform_models"] = transform_models((self.logs / f"{name}.log").read_text(errors="replace"))
        print(f"  {name:<9} {_phase_summary(name, out)}", flush=True)
        return out

    def fresh_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.server.get_uri(), autocommit=True) as conn:
            conn.execute(f"drop database if exists {name} with (force)")
            conn.execute(f"create database {name}")
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.server.get_uri(), autocommit=True) as conn:
            conn.execute(f"drop database if exists {name} with (force)")

    # --- the run -----------------------------------------------------------------------------
    def run(self) -> dict:
        a = self.args
        started = datetime.now(UTC)
        load_start = os.getloadavg()
        print(f"bench {a.scale} {a.month} ({a.programmes}, {a.fmt}) in {self.work}", flush=True)
        gen = self.child("generate")
        import pgserver

        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.server = pgserver.get_server(self.pgdata, cleanup_mode="stop")  # stopped when this process exits
        self.child("airflow-db")

        self.sampler = RssSampler(self.pgdata)
        self.sampler.start()
        try:
            parses = [self.child("parse", name=f"parse{i}") for i in range(3)]
            noop = self.child("noop")
            month = self.child("month", database=self.fresh_database("bench_month"))
            floor = self.child("floor", database=self.fresh_database("bench_floor"))
            self.drop_database("bench_floor")  # scratch only; the month and backfill databases stay for inspection
            backfill = None
            if not a.no_backfill:
                backfill = self.child("backfill", database=self.fresh_database("bench_backfill"))
            fsm2 = fsm2_floor = None
            if self.fsm2:
                fsm2 = self.child("month", "fsm2", self.fresh_database("bench_fsm2"), month=a.fsm2_month, programmes="FSM2")
                fsm2_floor = self.child("floor", "fsm2_floor", self.fresh_database("bench_floor"), month=a.fsm2_month)
                self.drop_database("bench_floor")
        finally:
            self.sampler.stop()
        profile = self.profile() if a.profile else None

        month_run_s = month["seconds"]
        overhead_s = noop["seconds"]
        floor_s = floor["seconds"]
        backfill_s = backfill["seconds"] if backfill else None
        peaks = self.sampler.peaks
        figures = {
            "month_run_s": round(month_run_s, 2),
            "overhead_s": round(overhead_s, 2),
            "floor_s": round(floor_s, 2),
            "ratio": round((month_run_s - overhead_s) / floor_s, 1) if floor_s > 0 else None,
            "backfill_s": round(backfill_s, 2) if backfill_s is not None else None,
            "backfill_ratio": round(backfill_s / month_run_s, 2) if backfill_s is not None else None,
            "peak_rss_mb": round(max((peaks[p]["total_mb"] for p in PHASES_AIRFLOW if p in peaks), default=0)),
            "parse_ms": round(statistics.median(p["dag_file_ms"] for p in parses)),
            "citizens": month["facts"]["citizens"],
            "benefit_rows": month["facts"]["benefit_rows"],
        }
        if fsm2:
            figures.update(
                {
                    "fsm2_month_s": round(fsm2["seconds"], 2),
                    "fsm2_floor_s": round(fsm2_floor["seconds"], 2),
                    "fsm2_ratio": round((fsm2["seconds"] - overhead_s) / fsm2_floor["seconds"], 1)
                    if fsm2_floor["seconds"] > 0
                    else None,
                    "fsm2_target_n": fsm2["facts"]["fsm2_target_n"],
                    "fsm2_benefit_rows": fsm2["facts"]["benefit_rows"],
                }
            )
        doc = {
            "bench": figures,
            "line": summary_line(figures),
            "scale": a.scale,
            "month": a.month,
            "seed": a.seed,
            "fmt": a.fmt,
            "programmes": a.programmes,
            "started": started.isoformat(timespec="seconds"),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "loadavg_start": [round(x, 2) for x in load_start],
                "loadavg_end": [round(x, 2) for x in os.getloadavg()],
                "python": platform.python_version(),
                "airflow": _version("apache-airflow"),
                "postgresql": floor.get("server_version"),
                "git": _git_describe(),
            },
            "landing": gen,
            "parse": {
                "dag_file_ms": [round(p["dag_file_ms"]) for p in parses],
                "airflow_import_ms": [round(p["airflow_import_ms"]) for p in parses],
                "parse_cold_ms": round(statistics.median(p["dag_file_ms"] + p["airflow_import_ms"] for p in parses)),
            },
            "overhead": {"seconds": noop["seconds"], "tasks": noop["tasks"]},
            "month_run": {k: month[k] for k in ("seconds", "tasks", "facts", "transform_models", "gaps_s")},
            "floor": {k: v for k, v in floor.items() if k != "process_wall_s"},
            "backfill": {k: backfill[k] for k in ("seconds", "tasks", "transform_models", "gaps_s")} if backfill else None,
            "fsm2": {
                "month": a.fsm2_month,
                "run": {k: fsm2[k] for k in ("seconds", "tasks", "facts", "transform_models", "gaps_s")},
                "floor": {k: v for k, v in fsm2_floor.items() if k != "process_wall_s"},
            }
            if fsm2
            else None,
            "peak_rss_mb_by_phase": peaks,
            "rss_samples": self.sampler.samples,
            "profile": profile,
        }
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / f"{a.scale}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=1, default=str) + "\n")
        os.replace(tmp, path)
        print(f"figures: {path}")
        print(doc["line"], flush=True)
        return doc

    def profile(self) -> dict | None:
        spy = os.environ.get("PY_SPY") or shutil.which("py-spy") or next((p for p in PY_SPY_CANDIDATES if Path(p).exists()), None)
        if not spy:
            print("  profile   skipped: py-spy not found (set PY_SPY)")
            return None
        raw = self.logs / "profile.pyspy.txt"
        wrap = [spy, "record", "--idle", "--nonblocking", "--rate", "50", "--format", "raw", "--output", str(raw), "--"]
        run = self.child("month", name="profile", database=self.fresh_database("bench_profile"), wrap=wrap)
        self.drop_database("bench_profile")
        summary = summarise_pyspy(raw.read_text()) if raw.exists() else {}
        summary["seconds_under_py_spy"] = run["seconds"]
        summary["raw"] = str(raw)
        return summary


def summary_line(f: dict) -> str:
    def fmt(v, digits):
        return "n/a" if v is None else (f"{v:.{digits}f}" if digits else f"{round(v)}")

    return (
        f"bench: month_run_s={fmt(f['month_run_s'], 2)} overhead_s={fmt(f['overhead_s'], 2)} floor_s={fmt(f['floor_s'], 2)}"
        f" ratio={fmt(f['ratio'], 1)} backfill_s={fmt(f['backfill_s'], 2)} backfill_ratio={fmt(f['backfill_ratio'], 2)}"
        f" peak_rss_mb={fmt(f['peak_rss_mb'], 0)} parse_ms={fmt(f['parse_ms'], 0)} citizens={f['citizens']}"
        f" benefit_rows={f['benefit_rows']}"
        + (
            f" fsm2_month_s={fmt(f['fsm2_month_s'], 2)} fsm2_floor_s={fmt(f['fsm2_floor_s'], 2)}"
            f" fsm2_ratio={fmt(f['fsm2_ratio'], 1)} fsm2_target_n={f['fsm2_target_n']} fsm2_benefit_rows={f['fsm2_benefit_rows']}"
            if "fsm2_month_s" in f
            else ""
        )
    )


_TRANSFORM_LOG = re.compile(r"(FSM[12]) (\d{4}-\d{2}): wrote (\{.*?\}) in ([\d.]+)s \((\{.*?\})\)")


def transform_models(log_text: str) -> dict[str, dict]:
    """Seconds per SQL model of each programme's transform, from fsm.transform's log line."""
    out = {}
    for prog, _month, _written, seconds, timings in _TRANSFORM_LOG.findall(log_text):
        with contextlib.suppress(ValueError, SyntaxError):
            out[prog] = {"seconds": float(seconds), "models": ast.literal_eval(timings)}
    return out


def _phase_summary(name: str, out: dict) -> str:
    if "seconds" in out and "tasks" in out:
        top = sorted(out["tasks"], key=lambda t: -(t["s"] or 0))[:3]
        return f"{out['seconds']:.2f}s (top tasks: " + ", ".join(f"{t['task']} {t['s']:.1f}s" for t in top) + ")"
    if name == "floor" or name.endswith("_floor"):
        return f"{out['seconds']:.2f}s (decode {out['decode_s']:.2f}s, copy {out['copy_s']:.2f}s, scan {out['scan_s']:.2f}s; {out['rows']:,} rows)"
    if name.startswith("parse"):
        return f"dag file {out['dag_file_ms']:.0f} ms (+ airflow import {out['airflow_import_ms']:.0f} ms)"
    if name == "generate":
        return f"{out['seconds']:.1f}s{' (cached)' if out['cached'] else ''}: {out['rows_by_feed']}"
    return "done"


class RssSampler(threading.Thread):
    """Peak of the summed RSS of this process tree and the PostgreSQL server's processes, per phase."""

    def __init__(self, pgdata: Path, interval: float = 0.2):
        super().__init__(daemon=True, name="rss-sampler")
        self.pgdata = pgdata
        self.interval = interval
        self.phase: str | None = None
        self.peaks: dict[str, dict[str, float]] = {}
        self.samples = 0
        self._stop_event = threading.Event()
        self._postmaster = None

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            phase = self.phase
            if phase is None:
                continue
            try:
                py_mb, pg_mb = self.sample()
            except Exception:  # noqa: BLE001 (a sample lost to a process ending mid-read is no error)
                continue
            self.samples += 1
            peak = self.peaks.setdefault(phase, {"total_mb": 0.0, "python_mb": 0.0, "postgres_mb": 0.0})
            if py_mb + pg_mb > peak["total_mb"]:
                peak.update(total_mb=round(py_mb + pg_mb, 1), python_mb=round(py_mb, 1), postgres_mb=round(pg_mb, 1))

    def _postgres(self) -> list:
        import psutil

        if self._postmaster is None or not self._postmaster.is_running():
            try:
                pid = int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
                self._postmaster = psutil.Process(pid)
            except (OSError, ValueError, IndexError, psutil.Error):
                return []
        return [self._postmaster, *self._postmaster.children(recursive=True)]

    def sample(self) -> tuple[float, float]:
        import psutil

        me = psutil.Process()
        tree = {p.pid: p for p in [me, *me.children(recursive=True)]}
        pg = {p.pid: p for p in self._postgres() if p.pid not in tree}

        def rss(procs) -> float:
            total = 0
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            return total / 2**20

        return rss(tree.values()), rss(pg.values())


def summarise_pyspy(raw: str, top: int = 25, root: str = "fsm.run.run_month") -> dict:
    """py-spy's raw (collapsed) stacks -> where the run's time goes.

    Only stacks through `root` count (the thread that runs the DAG; Airflow's in-process API
    server threads idle in the background). With --idle, time the run spends waiting for
    PostgreSQL shows as a psycopg wait under the project's function that sent the SQL.
    `inclusive_pct`: the project's own functions (plugins/fsm, the DAG file), including callees;
    `self_pct`: the innermost frames; `postgres_wait_pct`: stacks ending in a psycopg wait."""
    self_t: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = waiting = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_frame_name(f) for f in stack.split(";")]
        if root not in frames:
            continue
        n = int(count)
        total += n
        self_t[frames[-1]] += n
        for name in set(frames):
            if name.startswith(("fsm.", "dags.")):
                incl[name] += n
        if any("psycopg" in f and "wait" in f.lower() for f in frames[-4:]):
            waiting += n
    if not total:
        return {"samples": 0}

    def pct(c: Counter[str]) -> list[list[object]]:
        return [[name, round(100 * n / total, 1)] for name, n in c.most_common(top)]

    return {
        "samples": total,
        "postgres_wait_pct": round(100 * waiting / total, 1),
        "inclusive_pct": pct(incl),
        "self_pct": pct(self_t),
    }


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]+?)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    """'load_file (fsm/ingest.py:612)' or '(/…/plugins/fsm/ingest.py:612)' -> 'fsm.ingest.load_file';
    the DAG file's frames -> 'dags.fsm_monthly_monitoring.…'; others 'func (package/file.py)'."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    func, path = m.group("func"), m.group("file")
    if path.endswith("fsm_monthly_monitoring.py"):
        return f"dags.fsm_monthly_monitoring.{func}"
    if "/plugins/fsm/" in path or path.startswith("fsm/"):
        mod = path.split("fsm/", 1)[1] if path.startswith("fsm/") else path.split("/plugins/fsm/", 1)[1]
        return f"fsm.{mod.removesuffix('.py').replace('/', '.')}.{func}"
    short = path.split("site-packages/", 1)[-1] if "site-packages/" in path else path
    return f"{func} ({short})"


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _git_describe() -> str | None:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "") if rev.returncode == 0 else None


def _parse_month(text: str) -> date:
    from fsm import months

    return months.parse_month(text)


# =========================================================================== phases (children)


def _phase_generate(a: argparse.Namespace) -> dict:
    import inspect

    from fsm.synth import generate

    landing = Path(os.environ["FSM_LANDING"])
    manifest_path = landing / "manifest.json"
    before = manifest_path.stat().st_mtime_ns if manifest_path.exists() else None
    end = max(a.month, a.fsm2_month) if "FSM2" in a.programmes.upper() else a.month
    kwargs = {"seed": a.seed, "scale": a.scale, "start": "2017-08", "end": end, "fmt": a.fmt}
    if "programmes" in inspect.signature(generate).parameters:
        kwargs["programmes"] = a.programmes
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
    from fsm.run import load_dag, run_month

    airflow_env.configure()
    dag = load_dag()
    for task in dag.tasks:  # a failed task fails the bench now, not after dag.test() sat out the retry delays
        task.retries = 0
    ctx = contextlib.nullcontext()
    if kind == "noop":
        from fsm.bench_noop import noop_pipeline

        ctx = noop_pipeline()
    with ctx:
        seconds = run_month(dag, a.month, backfill=(kind == "backfill"))
    tasks, gaps = _task_timings(dag.dag_id, seconds)
    out = {"seconds": round(seconds, 3), "tasks": tasks, "gaps_s": gaps}
    if kind != "noop":
        out["facts"] = _warehouse_facts(_parse_month(a.month))
        out["facts"]["programmes"] = os.environ.get("FSM_PROGRAMMES")
    return out


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
        "table_mb": {t: round(b / 2**20, 1) for t, b in tables},
        "database_mb": round(db_bytes / 2**20, 1),
    }


def _phase_floor(a: argparse.Namespace) -> dict:
    """COPY exactly the files the month's run reads into unindexed text tables, then one aggregate scan."""
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from fsm.ingest import files_for_month
    from fsm.ingest.landing import FEED_LAYOUT, LandingZone

    month = _parse_month(a.month)
    zone = LandingZone()
    files = [f for feed in FEED_LAYOUT for f in files_for_month(zone, feed, month)]
    tables: dict[tuple[str, tuple[str, ...]], str] = {}
    decode_s = copy_s = 0.0
    rows = nbytes = 0
    with psycopg.connect(os.environ["FSM_WAREHOUSE_URL"], autocommit=True) as conn:
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


def _run_phase(a: argparse.Namespace) -> dict:
    if a.phase == "generate":
        return _phase_generate(a)
    if a.phase == "airflow-db":
        return _phase_airflow_db(a)
    if a.phase == "parse":
        return _phase_parse(a)
    if a.phase in ("noop", "month", "backfill"):
        return _phase_dag(a, a.phase)
    if a.phase == "floor":
        return _phase_floor(a)
    raise SystemExit(f"unknown bench phase {a.phase!r}")


# =========================================================================== CLI


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m fsm.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--scale", default=os.environ.get("FSM_BENCH_SCALE", "national"), help="a generator scale (tiny, small, national, 2x)"
    )
    ap.add_argument("--month", default="2019-12", help="the month to run (default 2019-12, FSM1's last)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--fmt", choices=("parquet", "csv"), default="parquet")
    ap.add_argument(
        "--programmes",
        default="FSM1,FSM2",
        help="the synthetic country: FSM1,FSM2 (default; adds the fsm2 phase) or FSM1 (the first, FSM1-only measurement)",
    )
    ap.add_argument("--fsm2-month", default="2021-12", help="the FSM2 month the fsm2 phase runs (default 2021-12, its last)")
    ap.add_argument("--no-backfill", action="store_true", help="skip the backfill phase")
    ap.add_argument("--profile", action="store_true", help="also run the month under py-spy and summarise where the time goes")
    ap.add_argument("--out", help="folder for <scale>.json (default: bench/)")
    ap.add_argument("--phase-timeout", type=float, default=3600.0, help="seconds one phase may take (default 3600)")
    ap.add_argument("--work-dir", help="bench-private state (default: data/bench/<scale>)")
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_phase"]:
        ap = _parser()
        ap.add_argument("phase")
        ap.add_argument("--result", required=True)
        a = ap.parse_args(argv[1:])
        out = _run_phase(a)
        Path(a.result).write_text(json.dumps(out, default=str))
        return 0
    a = _parser().parse_args(argv)
    Bench(a).run()
    return 0


if __name__ == "__main__":
    import logging

    # a phase logs what it does (fsm.transform's per-model seconds are read back from its log); the orchestrator is quiet
    level = logging.INFO if sys.argv[1:2] == ["_phase"] else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.exit(main())
