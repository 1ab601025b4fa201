"""The stack as docker-compose deploys it, run natively (no Docker engine here), once per executor.

`stack` (package scope, parametrised) starts what the compose file starts — `airflow api-server`,
`scheduler`, `dag-processor` and `triggerer` — on a throw-away PostgreSQL metadata database:
- LocalExecutor: as compose's default;
- CeleryExecutor: as compose's `celery` profile (tests/stack/celery_settings.py, the one source of its
  settings), plus two `airflow celery worker` processes (each in its own process group, hostnames
  celery@fsm-worker-a / -b, two slots each) on Redis at 127.0.0.1:6379 (db REDIS_DB, flushed at start) with
  a throw-away PostgreSQL database as Celery's result backend.
Both: SimpleAuthManager with one password-protected admin, a JWT secret, a Fernet key, the execution-API URL,
FSM_ENV=production, the same tiny synthetic landing zone. The warehouse (another throw-away database) is NOT
in the environment: `warehouse_connection` creates the Airflow connection `fsm_warehouse` through the REST
API, as an operator would, before the first run. Every process started is stopped (its process group) and
the databases dropped afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from stack import celery_settings
from stack.harness import (
    ADMIN,
    DAG_ID,
    LANDING_END,
    MONTH,
    ROOT,
    SHOTS,
    call,
    free_port,
    processes_of,
    start,
    stop,
    tail,
    trigger,
    wait,
    wait_for_dag,
)
from support.db import server_url, throwaway_database
from support.mailbox import mail_catcher

COMPONENTS = ("dag-processor", "scheduler", "triggerer", "api-server")
WORKERS = ("fsm-worker-a", "fsm-worker-b")
REDIS_DB = 11  # the stack test's own Redis database on the machine's server, flushed at start
EXECUTORS = ("LocalExecutor", "CeleryExecutor")


@pytest.fixture(scope="session")
def stack_landing(tmp_path_factory) -> Path:
    """One landing zone for both executors: their marts are compared."""
    from fsm_dev.synth import generator

    root = tmp_path_factory.mktemp("landing")
    generator.generate(root, seed=11, scale="tiny", start="2017-08", end=LANDING_END, programmes=("FSM1", "FSM2"))
    return root


@pytest.fixture(scope="session")
def pseudonym_key() -> str:
    """One HMAC key for both executors' stacks: person_key (in dq_marking_violations) is compared."""
    return secrets.token_hex(24)


@pytest.fixture(scope="session")
def marts_by_executor() -> dict[str, dict[str, bytes]]:
    """The marts each executor's stack left (fsm_dev.dump_marts), filled by the scale-out tests."""
    return {}


def _redis_flush(db: int) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=db, socket_connect_timeout=3)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError:
        pytest.fail("the Celery stack needs Redis on 127.0.0.1:6379 (redis-server --daemonize yes --port 6379)")
    finally:
        client.close()


def _wait_for_workers(home: Path, procs, names) -> None:
    """Each worker logs 'celery@<host> ready.' once it consumes from the queue."""
    deadline = time.monotonic() + 120
    while True:
        logs = {n: (home / f"{n}.log").read_text(errors="replace") for n in WORKERS}
        if all(f"celery@{n} ready" in logs[n] for n in WORKERS):
            return
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            pytest.fail(f"the Celery workers did not come up:\n{tail(home, names)}")
        time.sleep(1)


@pytest.fixture(scope="package", params=EXECUTORS)
def stack(request, tmp_path_factory, stack_landing, pseudonym_key):
    executor = request.param
    admin_url = server_url()  # the stack needs a server: Airflow's metadata DB is PostgreSQL, not embedded
    if admin_url is None:
        pytest.fail("make stack-test needs PostgreSQL at FSM_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres)")
    from cryptography.fernet import Fernet

    home = tmp_path_factory.mktemp(f"airflow_home_{executor}")
    reports = home / "reports"
    shots = SHOTS / executor
    shots.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(16)
    (home / "passwords.json").write_text(json.dumps({ADMIN: password}))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    procs: list = []
    names = list(COMPONENTS)
    resources = contextlib.ExitStack()  # closed last: the databases are dropped after the processes stopped
    meta_url = resources.enter_context(throwaway_database(admin_url, "fsm_stack_airflow"))
    wh_url = resources.enter_context(throwaway_database(admin_url, "fsm_stack_wh"))
    smtp = resources.enter_context(mail_catcher())  # the fsm_alerts connection (SMTP, the default channel) mails here
    alerts = json.loads((ROOT / "resources" / "dev_connections.json").read_text())["fsm_alerts"]
    alerts["port"] = smtp.server_address[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "FSM_"))}
    env.update({
        # as docker-compose.yml's x-airflow-common, with local paths
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),  # the connection created through the API is encrypted
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_url.replace("postgresql://", "postgresql+psycopg://", 1),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": meta_url.replace("postgresql://", "postgresql+psycopg://", 1),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        # no AIRFLOW_CONN_FSM_WAREHOUSE: the warehouse_connection fixture creates it through the REST API
        "AIRFLOW_CONN_FSM_ALERTS": json.dumps(alerts),
        "AIRFLOW_CONN_FSM_PSEUDONYM": json.dumps({"conn_type": "generic", "password": pseudonym_key}),
        "FSM_ENV": "production",  # as deployed: no embedded warehouse, a missing connection fails naming it
        "FSM_SLOW_RUN_ALERT_HOURS": "6",
        "FSM_PROJECT_ROOT": str(ROOT),
        "FSM_LANDING": str(stack_landing),
        "FSM_REPORTS_DIR": str(reports),
        "FSM_DATA_DIR": str(home / "data"),
        "PYTHONPATH": str(ROOT / "plugins"),
    })  # fmt: skip
    if executor == "CeleryExecutor":
        backend_url = resources.enter_context(throwaway_database(admin_url, "fsm_stack_celery"))
        backend = urlsplit(backend_url)
        _redis_flush(REDIS_DB)
        resources.callback(_redis_flush, REDIS_DB)
        env.update(celery_settings.filled(redis_host="127.0.0.1", redis_db=str(REDIS_DB), pg_auth=backend.username or "",
                                          pg_host=backend.hostname, pg_database=backend.path.lstrip("/")))  # fmt: skip
        env.update(celery_settings.HEARTBEAT_TIMEOUT_TEST)
    try:
        airflow = str(Path(sys.executable).with_name("airflow"))
        migrated = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
        assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]
        for name in COMPONENTS:
            args = [name, "--port", str(port)] if name == "api-server" else [name]
            procs.append(start(name, args, env, home))
        workers = {}
        if executor == "CeleryExecutor":
            for name in WORKERS:
                worker_env = {
                    **env,
                    # the hostname the worker's task instances record (compose: the container's hostname)
                    "AIRFLOW__CORE__HOSTNAME_CALLABLE": "stack.worker_hostname.hostname",
                    "FSM_STACK_WORKER_HOSTNAME": name,
                    "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT / 'tests'}",
                    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),  # two workers on one host
                }
                args = [
                    *celery_settings.WORKER_COMMAND,
                    "--celery-hostname",
                    f"celery@{name}",
                    "--pid",
                    str(home / f"{name}.pid"),
                ]
                workers[name] = start(name, args, worker_env, home)
                procs.append(workers[name])
                names.append(name)
            _wait_for_workers(home, procs, names)
        tok = wait_for_dag(base, password, procs, home, names)
        yield {"executor": executor, "base": base, "home": home, "reports": reports, "wh_url": wh_url, "token": tok,
               "password": password, "procs": procs, "workers": workers, "killed": set(), "mails": smtp.messages,
               "env": env, "tail": lambda: tail(home, names), "shots": shots}  # fmt: skip
    finally:
        for proc in reversed(procs):
            stop(proc)
        leftovers = processes_of(home)
        resources.close()
        assert not leftovers, f"still running after the stack was stopped: {leftovers}"  # nothing it started outlives it


@pytest.fixture(scope="package")
def warehouse_connection(stack) -> dict:
    """The Airflow connection fsm_warehouse, created through the REST API (POST /api/v2/connections)."""
    wh = urlsplit(stack["wh_url"])
    body = {"connection_id": "fsm_warehouse", "conn_type": "postgres", "host": wh.hostname, "port": wh.port or 5432,
            "login": wh.username, "password": wh.password, "schema": wh.path.lstrip("/"),
            "description": "the FSM warehouse (created by the stack test through the REST API)"}  # fmt: skip
    status, created = call(stack["base"], "/api/v2/connections", stack["token"], body)
    assert status == 201, (status, created)
    return created


@pytest.fixture(scope="package")
def finished_run(stack, warehouse_connection):
    """Unpause and trigger MONTH through the REST API, as an operator's script would; wait for the end."""
    base, tok = stack["base"], stack["token"]
    status, dag = call(base, f"/api/v2/dags/{DAG_ID}", tok, {"is_paused": False}, method="PATCH")
    assert status == 200 and dag["is_paused"] is False, (status, dag)
    run = wait(stack, trigger(stack, MONTH))
    assert run["state"] == "success", f"{run['state']}: {run['task_states']}\n{stack['tail']()}"
    print(f"\nstack-test [{stack['executor']}]: {MONTH} succeeded in {run['seconds']} s", file=sys.stderr)
    return run


@pytest.fixture(scope="package")
def page(stack):
    from support.browser import CHROMIUM, require_chromium

    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(30_000)
        yield context.new_page()
        context.close()
        browser.close()
