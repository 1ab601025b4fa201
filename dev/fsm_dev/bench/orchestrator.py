"""The bench's orchestrator: each phase in a fresh interpreter (`python -m fsm_dev.bench _phase …`), peak RSS, bench/<scale>.json."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from fsm import months
from fsm.config import PROJECT_ROOT, env_name
from fsm_dev.bench.figures import goals, phase_summary, summarise_pyspy, summary_line, transform_models
from fsm_dev.settings import dev_settings

PHASES_AIRFLOW = ("noop", "month", "backfill", "steady", "fsm2")
BENCH_PSEUDONYM_KEY = "fsm-bench-key-" + "b" * 24  # synthetic data only; a set key is what production has


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.month = months.parse_month(args.month)
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
        for key in (env_name("warehouse_url"), "AIRFLOW_CONN_FSM_WAREHOUSE", env_name("slow_run_alert_hours")):
            env.pop(key, None)
        code = [str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT / "dev")]  # the runtime and this package
        run_dir = self.work / "runs" / phase
        env.update(
            {
                env_name("project_root"): str(PROJECT_ROOT),
                "PYTHONPATH": os.pathsep.join(p for p in (*code, env.get("PYTHONPATH", "")) if p),
                "PYTHONUNBUFFERED": "1",
                "AIRFLOW_HOME": str(self.airflow_home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.airflow_home}/airflow.db",
                "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                env_name("landing"): str(self.landing),
                env_name("data_dir"): str(run_dir),
                env_name("reports_dir"): str(run_dir / "reports"),
                env_name("programmes"): programmes,
            }
        )
        env.setdefault(env_name("pseudonym_key"), BENCH_PSEUDONYM_KEY)
        if database:
            env[env_name("warehouse_url")] = self.server.get_uri(database)
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
        """Run `python -m fsm_dev.bench _phase <phase>` in a fresh interpreter; its JSON result."""
        name = name or phase
        self.logs.mkdir(parents=True, exist_ok=True)
        result = self.logs / f"{name}.json"
        result.unlink(missing_ok=True)
        run_dir = self.work / "runs" / name
        if phase in ("noop", "month", "backfill", "steady", "floor"):
            shutil.rmtree(run_dir, ignore_errors=True)
        cmd = [
            *(wrap or []),
            sys.executable,
            "-m",
            "fsm_dev.bench",
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
        if phase in ("month", "backfill", "steady") and "tasks" in out:
            out["transform_models"] = transform_models((self.logs / f"{name}.log").read_text(errors="replace"))
        print(f"  {name:<9} {phase_summary(name, out)}", flush=True)
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
            steady = None
            if not a.no_steady:
                steady = self.child("steady", database=self.fresh_database("bench_steady"))
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
        steady_s = steady["seconds"] if steady else None
        ydelse = month["facts"].get("staged", {}).get("stg_ydelse") or {}
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
        # issue 17: the scheduled month on a loaded history, and what a staged benefit row costs on disk
        figures.update(
            {
                "steady_s": round(steady_s, 2) if steady_s is not None else None,
                "steady_over_overhead_s": round(steady_s - overhead_s, 2) if steady_s is not None else None,
                "bytes_per_benefit_row": ydelse.get("bytes_per_row"),
            }
        )
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
            "steady": {
                "month": a.month,
                **{k: steady[k] for k in ("seconds", "tasks", "facts", "transform_models", "gaps_s", "history")},
            }
            if steady
            else None,
            "staged": month["facts"].get("staged"),
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
        doc["goals"] = goals(doc)
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / f"{a.scale}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=1, default=str) + "\n")
        os.replace(tmp, path)
        print(f"figures: {path}")
        print(doc["line"], flush=True)
        return doc

    def profile(self) -> dict | None:
        spy = _py_spy()
        if not spy:
            print("  profile   skipped: py-spy not found (pip install -r requirements-dev.txt, or set PY_SPY)")
            return None
        raw = self.logs / "profile.pyspy.txt"
        wrap = [spy, "record", "--idle", "--nonblocking", "--rate", "50", "--format", "raw", "--output", str(raw), "--"]
        run = self.child("month", name="profile", database=self.fresh_database("bench_profile"), wrap=wrap)
        self.drop_database("bench_profile")
        summary = summarise_pyspy(raw.read_text()) if raw.exists() else {}
        summary["seconds_under_py_spy"] = run["seconds"]
        summary["raw"] = str(raw)
        return summary


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


def _py_spy() -> str | None:
    """PY_SPY, else the py-spy installed beside this interpreter (requirements-dev.txt), else one on PATH."""
    if (spy := dev_settings().py_spy) is not None:
        return str(spy)
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.is_file() else shutil.which("py-spy")


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
