"""`make ui`: Airflow's api-server, scheduler, dag-processor and triggerer on the project's own metadata
(.airflow/, where `make run` records its runs), so the runs are there to browse. Ctrl-C stops all four.

python -m fsm_dev.ui            # http://localhost:8080 (FSM_UI_PORT), login printed on start
python -m fsm_dev.ui --check    # start, wait until the DAG is served, print the login, stop (a smoke test)

Why a small supervisor of our own rather than `airflow standalone`: standalone writes its own admin
password and config into AIRFLOW_HOME, runs in the foreground with all four logs interleaved on the
terminal, and offers no port or log-file choice; here each component logs to .airflow/ui/<name>.log,
the login is the project's (.airflow/ui/passwords.json, made once), and the exit is clean.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from fsm.ops import airflow_env
from fsm_dev.settings import dev_settings

DAG_ID = "fsm_monthly_monitoring"
USER = "admin"
COMPONENTS = ("dag-processor", "scheduler", "triggerer", "api-server")
STARTUP_TIMEOUT_S = 240
STOP_TIMEOUT_S = 30


def ui_dir() -> Path:
    return Path(os.environ["AIRFLOW_HOME"]) / "ui"


def login() -> tuple[str, str]:
    """The UI's one user and its password, made once and kept in .airflow/ui/passwords.json (0600)."""
    path = ui_dir() / "passwords.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({USER: secrets.token_urlsafe(12)}))
        path.chmod(0o600)
    return USER, json.loads(path.read_text())[USER]


def _secret(name: str) -> str:
    """A secret kept across restarts (the JWT key: a browser's session survives `make ui` being restarted)."""
    path = ui_dir() / name
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def environment(port: int) -> dict[str, str]:
    """The four components' environment: the project's Airflow home (airflow_env) plus the server's own settings."""
    airflow_env.configure()
    login()
    base = f"http://localhost:{port}"
    env = dict(os.environ)
    env.update({
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",  # SQLite metadata: few writers at once
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(ui_dir() / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": _secret("jwt_secret"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__API__HOST": "127.0.0.1",  # this machine only: a development UI
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "PYTHONPATH": os.pathsep.join(p for p in (str(airflow_env.PROJECT_ROOT / "plugins"), env.get("PYTHONPATH")) if p),
    })  # fmt: skip
    return env


def start(env: dict[str, str], port: int) -> list[subprocess.Popen]:
    airflow = str(Path(sys.executable).with_name("airflow"))
    procs = []
    for name in COMPONENTS:
        args = [name, "--host", "127.0.0.1", "--port", str(port)] if name == "api-server" else [name]
        log = (ui_dir() / f"{name}.log").open("w")
        proc = subprocess.Popen([airflow, *args], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        proc.name = name  # type: ignore[attr-defined]
        procs.append(proc)
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM each component's process group (the api-server's workers, the executor's children), then wait."""
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _served(base: str, user: str, password: str) -> bool:
    try:
        body = json.dumps({"username": user, "password": password}).encode()
        req = urllib.request.Request(f"{base}/auth/token", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            token = json.loads(r.read())["access_token"]
        req = urllib.request.Request(f"{base}/api/v2/dags/{DAG_ID}", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status == 200
    except (OSError, KeyError, ValueError, urllib.error.URLError):
        return False


def wait_until_served(procs: list[subprocess.Popen], base: str) -> None:
    user, password = login()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not _served(base, user, password):
        dead = [p.name for p in procs if p.poll() is not None]  # type: ignore[attr-defined]
        if dead or time.monotonic() > deadline:
            why = f"{', '.join(dead)} exited" if dead else f"not served within {STARTUP_TIMEOUT_S}s"
            raise SystemExit(f"make ui: {why}; see {ui_dir()}/<component>.log")
        time.sleep(1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=None, help="the api-server's port (default FSM_UI_PORT or 8080)")
    ap.add_argument("--check", action="store_true", help="start, wait until the DAG is served, then stop")
    args = ap.parse_args(argv)
    port = args.port or dev_settings().ui_port
    env = environment(port)
    airflow_env.migrate_metadata()
    base = f"http://localhost:{port}"
    print(f"starting Airflow ({', '.join(COMPONENTS)}) on {os.environ['AIRFLOW_HOME']} …", flush=True)
    procs = start(env, port)

    def _stop_signal(_signum, _frame):
        raise KeyboardInterrupt

    # Ctrl-C (SIGINT) and SIGTERM both stop all four; SIGINT set explicitly, since a process started in the
    # background of a script inherits it ignored and Python then never raises KeyboardInterrupt
    signal.signal(signal.SIGINT, _stop_signal)
    signal.signal(signal.SIGTERM, _stop_signal)
    try:
        wait_until_served(procs, base)
        user, password = login()
        print(f"Airflow UI:  {base}/dags/{DAG_ID}/runs", flush=True)
        print(f"login:       {user} / {password}", flush=True)
        print(f"logs:        {ui_dir()}/<component>.log", flush=True)
        if args.check:
            return 0
        print("Ctrl-C stops it.", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        dead = [p.name for p in procs if p.poll() is not None]  # type: ignore[attr-defined]
        print(f"make ui: {', '.join(dead)} exited; see {ui_dir()}/<component>.log", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        print("stopping Airflow …", flush=True)
        stop(procs)
        print("stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
