"""The whole stack as docker-compose deploys it, run natively (no Docker engine here): `make stack-test`.

One module fixture starts what the compose file starts — `airflow api-server`, `scheduler` (LocalExecutor),
`dag-processor` and `triggerer` — on a throw-away PostgreSQL metadata database, with a separate
throw-away PostgreSQL warehouse given as the Airflow connection `fsm_warehouse`, SimpleAuthManager
with one password-protected admin (not the all-admins mode), a JWT secret and the execution-API URL,
and a tiny synthetic landing zone. It triggers `fsm_monthly_monitoring` for one month through the
REST API as an operator would, waits for the run to succeed, checks the warehouse and the report,
and stops every process it started (their process groups) and drops both databases.

Then headless Chromium logs in, opens the DAG and its docs, the green run in the grid, the run's
report link and the report itself. Screenshots: FSM_STACK_OUT (default build/stack-test/).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from support.browser import CHROMIUM, require_chromium
from support.db import server_url, throwaway_database
from support.mailbox import mail_catcher

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "fsm_monthly_monitoring"
MONTH = "2019-01"  # FSM1 and FSM2 both in force (F9): every model and report part runs
COMPONENTS = ("dag-processor", "scheduler", "triggerer", "api-server")
STARTUP_TIMEOUT = 240
RUN_TIMEOUT = 900
SHOTS = Path(os.environ.get("FSM_STACK_OUT", ROOT / "build" / "stack-test"))
ADMIN = "admin"
OUTSIDE = "2026-10"  # after FSM2 (F9): a manual run for it fails at once and the operators get a mail


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(base: str, path: str, token: str | None = None, body: dict | None = None, method: str | None = None):
    """(status, parsed body) — errors are answers here, not exceptions: the refusals are tested."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)  # its own process group: the scheduler's executor workers, the api's workers
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _tail(home: Path, chars: int = 2500) -> str:
    return "\n".join(f"--- {n}.log ---\n" + (home / f"{n}.log").read_text(errors="replace")[-chars:] for n in COMPONENTS)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from fsm_dev.synth import generator

    admin_url = server_url()  # the stack needs a server: Airflow's metadata DB is PostgreSQL, not embedded
    if admin_url is None:
        pytest.fail("make stack-test needs PostgreSQL at FSM_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres)")
    home = tmp_path_factory.mktemp("airflow_home")
    landing, reports = home / "landing", home / "reports"
    generator.generate(landing, seed=11, scale="tiny", start="2017-08", end=MONTH, programmes=("FSM1", "FSM2"))
    password = secrets.token_urlsafe(16)
    (home / "passwords.json").write_text(json.dumps({ADMIN: password}))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    procs: list[subprocess.Popen] = []
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
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
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
        "AIRFLOW_CONN_FSM_WAREHOUSE": wh_url,
        "AIRFLOW_CONN_FSM_ALERTS": json.dumps(alerts),
        "AIRFLOW_CONN_FSM_PSEUDONYM": json.dumps({"conn_type": "generic", "password": secrets.token_hex(24)}),
        "FSM_ENV": "production",  # as deployed: the development pseudonym key would be refused
        "FSM_SLOW_RUN_ALERT_HOURS": "6",
        "FSM_PROJECT_ROOT": str(ROOT),
        "FSM_LANDING": str(landing),
        "FSM_REPORTS_DIR": str(reports),
        "FSM_DATA_DIR": str(home / "data"),
        "PYTHONPATH": str(ROOT / "plugins"),
    })  # fmt: skip
    airflow = str(Path(sys.executable).with_name("airflow"))
    try:
        migrated = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
        assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]
        for name in COMPONENTS:
            args = [name, "--port", str(port)] if name == "api-server" else [name]
            log = (home / f"{name}.log").open("w")
            procs.append(subprocess.Popen([airflow, *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True))  # fmt: skip
        token = _wait_for_dag(base, password, procs, home)
        yield {"base": base, "home": home, "reports": reports, "wh_url": wh_url, "token": token,
               "password": password, "procs": procs, "mails": smtp.messages}  # fmt: skip
    finally:
        for proc in reversed(procs):
            _stop(proc)
        leftovers = _processes_of(home)
        resources.close()
        assert not leftovers, f"still running after the stack was stopped: {leftovers}"  # nothing it started outlives it


def _processes_of(home: Path) -> list[str]:
    """Every process whose environment names this stack's AIRFLOW_HOME (task runners included)."""
    import psutil

    mine = []
    for proc in psutil.process_iter(["pid", "name"]):
        try:
            if proc.environ().get("AIRFLOW_HOME") == str(home):
                mine.append(f"{proc.info['pid']} {' '.join(proc.cmdline())[:80]}")
        except (psutil.Error, OSError):
            continue
    return mine


def _token(base: str, password: str) -> str:
    status, body = _call(base, "/auth/token", body={"username": ADMIN, "password": password})
    assert status in (200, 201), (status, body)
    return body["access_token"]


def _wait_for_dag(base: str, password: str, procs, home: Path) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    token = None
    while True:
        try:
            token = token or _token(base, password)
            status, _ = _call(base, f"/api/v2/dags/{DAG_ID}", token)
            if status == 200:
                return token
        except (OSError, AssertionError):
            pass
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            pytest.fail(f"the stack did not serve {DAG_ID} within {STARTUP_TIMEOUT}s:\n{_tail(home)}")
        time.sleep(2)


def test_unauthenticated_requests_are_refused(stack):
    base = stack["base"]
    for path in (f"/api/v2/dags/{DAG_ID}", "/api/v2/dags", "/api/v2/connections", "/api/v2/variables",
                 "/fsm/reports/", f"/fsm/reports/{MONTH}/tranche_report.html"):  # fmt: skip
        status, _ = _call(base, path)
        assert status in (401, 403), (path, status)
        status, _ = _call(base, path, token="not-a-token")
        assert status in (401, 403), (path, "forged token", status)
    status, _ = _call(base, f"/api/v2/dags/{DAG_ID}/dagRuns", body={"logical_date": None, "conf": {"month": MONTH}})
    assert status in (401, 403), ("trigger without a token", status)
    status, _ = _call(base, f"/api/v2/dags/{DAG_ID}", body={"is_paused": False}, method="PATCH")
    assert status in (401, 403), ("unpause without a token", status)
    status, _ = _call(base, "/auth/token", body={"username": ADMIN, "password": "wrong-" + stack["password"]})
    assert status in (401, 403), ("token for a wrong password", status)
    # the Task SDK's execution API needs a task's own token too
    status, _ = _call(base, "/execution/task-instances/00000000-0000-0000-0000-000000000000/heartbeat",
                      body={"hostname": "x", "pid": 1}, method="PUT")  # fmt: skip
    assert status in (401, 403), ("execution API without a token", status)


@pytest.fixture(scope="module")
def finished_run(stack):
    """Unpause and trigger MONTH through the REST API, as an operator's script would; wait for the end."""
    base, token = stack["base"], stack["token"]
    status, dag = _call(base, f"/api/v2/dags/{DAG_ID}", token, {"is_paused": False}, method="PATCH")
    assert status == 200 and dag["is_paused"] is False, (status, dag)
    run = _wait(stack, _trigger(stack, MONTH))
    assert run["state"] == "success", f"{run['state']}: {run['task_states']}\n{_tail(stack['home'])}"
    print(f"\nstack-test: {DAG_ID} {MONTH} succeeded in {run['seconds']} s through the scheduler", file=sys.stderr)
    return run


def _trigger(stack, month: str) -> dict:
    status, run = _call(stack["base"], f"/api/v2/dags/{DAG_ID}/dagRuns", stack["token"],
                        {"logical_date": None, "conf": {"month": month, "backfill": False}})  # fmt: skip
    assert status == 200, (status, run)
    return run


def _wait(stack, run: dict) -> dict:
    base = stack["base"]
    run_path = f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run['dag_run_id'], safe='')}"
    started = time.monotonic()
    while True:
        status, run = _call(base, run_path, stack["token"])
        assert status == 200, (status, run)
        if run["state"] in ("success", "failed"):
            break
        if time.monotonic() - started > RUN_TIMEOUT or any(p.poll() is not None for p in stack["procs"]):
            pytest.fail(f"run {run['dag_run_id']} still {run['state']} after {RUN_TIMEOUT}s:\n{_tail(stack['home'])}")
        time.sleep(3)  # the token lives far longer ([api_auth] jwt_expiration_time, 24 h by default)
    _, tis = _call(base, f"{run_path}/taskInstances?limit=100", stack["token"])
    run["task_states"] = {ti["task_id"]: ti["state"] for ti in tis["task_instances"]}
    run["seconds"] = round(time.monotonic() - started, 1)
    return run


def test_a_month_triggered_through_the_api_succeeds(stack, finished_run):
    states = finished_run["task_states"]
    assert len(states) == 14 and set(states.values()) == {"success"}, states
    assert finished_run["conf"]["month"] == MONTH and finished_run["run_type"] == "manual"
    # no scheduled run was created by unpausing: the schedule ends with the last programme month (F9)
    _, runs = _call(stack["base"], f"/api/v2/dags/{DAG_ID}/dagRuns", stack["token"])
    assert [r["run_type"] for r in runs["dag_runs"]] == ["manual"], runs


def test_the_warehouse_and_report_hold_the_month(stack, finished_run):
    import psycopg

    with psycopg.connect(stack["wh_url"]) as conn:
        one = conn.execute
        assert one("select count(*) from mart_tranche_status where as_of_month = %s", (f"{MONTH}-01",)).fetchone()[0] > 0
        assert one("select count(*) from mart_visitation_progress where as_of_month = %s", (f"{MONTH}-01",)).fetchone()[0] > 0
        assert one("select count(*) from mart_fsm2_result where as_of_month = %s", (f"{MONTH}-01",)).fetchone()[0] > 0
        files = one("select count(*), sum(rows_read), sum(rows_loaded) + sum(rows_rejected) from ingest_file").fetchone()
        assert files[0] > 0 and files[1] == files[2]  # every row read is loaded or rejected
    month_dir = stack["reports"] / MONTH
    for name in ("tranche_report.xlsx", "tranche_report.html", "tranche_report.csv"):
        assert (month_dir / name).stat().st_size > 0, name
    assert (month_dir / "data_docs" / "index.html").exists()


@pytest.fixture(scope="module")
def page(stack):
    require_chromium()
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(30_000)
        yield context.new_page()
        context.close()
        browser.close()


def test_an_operator_logs_in_and_sees_the_green_run_and_its_report(stack, finished_run, page):
    base = stack["base"]
    page.goto(f"{base}/dags/{DAG_ID}")
    page.wait_for_url(re.compile(r"/auth/login"))  # not logged in: the UI sends you to the login form
    page.get_by_label(re.compile("username", re.I)).fill(ADMIN)
    page.get_by_label(re.compile("password", re.I)).fill(stack["password"])
    page.screenshot(path=SHOTS / "stack_login.png")
    page.get_by_role("button", name=re.compile("sign in|log in|login", re.I)).click()
    page.wait_for_url(re.compile(rf"/dags/{DAG_ID}"))

    page.get_by_role("button", name="Dag Docs").click()
    docs = page.locator("[role=dialog][data-state=open]")
    docs.get_by_role("heading", name="When something fails").wait_for()
    page.wait_for_timeout(800)  # the dialog fades in; a screenshot mid-fade is unreadable
    page.screenshot(path=SHOTS / "stack_dag_docs.png")
    docs.get_by_role("heading", name="When something fails").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    page.screenshot(path=SHOTS / "stack_dag_docs_failures.png")
    page.keyboard.press("Escape")

    run_id = quote(finished_run["dag_run_id"], safe="")
    page.goto(f"{base}/dags/{DAG_ID}/runs/{run_id}")
    page.get_by_text("success", exact=False).first.wait_for()
    page.screenshot(path=SHOTS / "stack_grid.png", full_page=True)

    page.goto(f"{base}/dags/{DAG_ID}/runs/{run_id}/tasks/write_report/details")
    page.get_by_text("Extra Links").wait_for()
    page.screenshot(path=SHOTS / "stack_extra_links.png")
    page.get_by_role("link", name="Tranche report").click()
    page.wait_for_url(re.compile(rf"/fsm/reports/{MONTH}/tranche_report\.html$"))
    page.get_by_text(MONTH, exact=False).first.wait_for()
    assert "2019" in page.title()
    page.screenshot(path=SHOTS / "stack_report.png", full_page=True)


def test_a_failed_run_mails_the_operators_what_to_do(stack, finished_run, page):
    """A manual run for a month no programme covers fails at its first task, without retries (waiting
    cannot help), and the task's on_failure_callback mails through the fsm_alerts connection."""
    run = _wait(stack, _trigger(stack, OUTSIDE))
    assert run["state"] == "failed" and run["task_states"]["wait_for_month_files"] == "failed", run["task_states"]
    assert {s for t, s in run["task_states"].items() if t != "wait_for_month_files"} == {"upstream_failed"}
    deadline = time.monotonic() + 60
    while not stack["mails"] and time.monotonic() < deadline:
        time.sleep(1)
    (mail,) = stack["mails"]
    assert mail["Subject"] == f"[FSM] {OUTSIDE}: wait_for_month_files failed ({DAG_ID})"
    assert mail["To"] == "fsm-operators@localhost"
    body = mail.get_body(("html",)).get_content()
    assert f"no programme is monitored in {OUTSIDE}" in body and "on try 1, its last" in body
    assert "What to do:" in body and f"/dags/{DAG_ID}/runs/" in body

    page.goto(f"{stack['base']}/dags/{DAG_ID}/runs/{quote(run['dag_run_id'], safe='')}")
    page.get_by_text("Failed", exact=False).first.wait_for()
    page.screenshot(path=SHOTS / "stack_failed_run.png")
