"""The Airflow UI in a real browser: a throw-away Airflow (SQLite home, the project's dags/ and plugins/,
SimpleAuthManager with everyone admin) serves the DAG; headless Chromium checks what an operator sees.

The module fixture migrates a fresh metadata DB, imports resources/dev_connections.json, starts the
dag-processor (it serializes the DAG) and the api-server on a free port, and stops both at the end.
No scheduler: a run triggered from the form is created and queued, not executed; the report behind
its links is a stand-in page in a throw-away FSM_REPORTS_DIR. Screenshots: /tmp/ui_*.png.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from support.browser import CHROMIUM, require_chromium

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "fsm_monthly_monitoring"
DISPLAY_NAME = "FSM monthly monitoring (Flere skal med)"
STARTUP_TIMEOUT = 150
SHOTS = Path("/tmp")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base: str, path: str, body: dict | None = None) -> dict:
    # Everyone is admin (SimpleAuthManager all-admins): the API needs no token here.
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)  # its own process group: the api-server's workers, the parser's children
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _write_reports(root: Path) -> None:
    for month in ("2018-03", "2018-04"):
        (root / month / "data_docs").mkdir(parents=True)
        (root / month / "tranche_report.html").write_text(
            f"<!doctype html><title>Tranche report {month}</title><h1>Flere skal med – ratestatus {month}</h1>", encoding="utf-8"
        )
        (root / month / "data_docs" / "index.html").write_text(
            f"<!doctype html><title>Data Docs {month}</title><h1>Data Docs {month}</h1>", encoding="utf-8"
        )


@pytest.fixture(scope="module")
def airflow_ui(tmp_path_factory):
    require_chromium()
    home = tmp_path_factory.mktemp("airflow_home")
    reports = tmp_path_factory.mktemp("reports")
    _write_reports(reports)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API_AUTH__JWT_SECRET": "throw-away-ui-test-secret-0123456789abcdef",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "PYTHONPATH": str(ROOT / "plugins"),
        "FSM_PROJECT_ROOT": str(ROOT),
        "FSM_REPORTS_DIR": str(reports),
        "FSM_SLOW_RUN_ALERT_HOURS": "6",  # the DeadlineAlert, as docker-compose deploys it
    })  # fmt: skip
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run([airflow, "connections", "import", str(ROOT / "resources" / "dev_connections.json")],
                   env=env, check=True, capture_output=True, timeout=60)  # fmt: skip
    procs = []
    try:
        for name, args in (("dag-processor", ["dag-processor"]), ("api-server", ["api-server", "--port", str(port)])):
            log = (home / f"{name}.log").open("w")
            procs.append(
                subprocess.Popen([airflow, *args], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                if any(d["dag_id"] == DAG_ID for d in _api(base, "/api/v2/dags")["dags"]):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                logs = "\n".join((home / f"{n}.log").read_text()[-3000:] for n in ("dag-processor", "api-server"))
                pytest.fail(f"Airflow did not serve {DAG_ID} within {STARTUP_TIMEOUT}s:\n{logs}")
            time.sleep(1)
        yield {"base": base, "home": home, "reports": reports}
    finally:
        for proc in procs:
            _stop(proc)


@pytest.fixture(scope="module")
def browser(airflow_ui):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, airflow_ui):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


def test_the_dag_is_listed_with_its_tags(page, airflow_ui):
    assert _api(airflow_ui["base"], "/api/v2/importErrors")["total_entries"] == 0
    plugins = {p["name"]: p for p in _api(airflow_ui["base"], "/api/v2/plugins")["plugins"]}
    assert plugins["fsm"]["fastapi_apps"][0]["url_prefix"] == "/fsm"
    page.goto(airflow_ui["base"] + "/dags")
    row = page.get_by_role("link", name=DISPLAY_NAME)
    row.wait_for()
    for tag in ("fsm", "star", "monthly", "finance"):
        assert page.get_by_text(tag, exact=True).count() >= 1, tag
    page.screenshot(path=SHOTS / "ui_dags.png")


def test_the_dag_and_task_docs_render(page, airflow_ui):
    page.goto(f"{airflow_ui['base']}/dags/{DAG_ID}")
    page.get_by_text("1 deadline").wait_for()  # the slow-run DeadlineAlert was serialized by the dag-processor
    page.get_by_role("button", name="Dag Docs").click()
    docs = page.locator("[role=dialog][data-state=open]")
    docs.get_by_role("heading", name="Run a month by hand, or a backfill").wait_for()
    assert docs.get_by_role("heading", name="When something fails").is_visible()
    assert docs.locator("table").count() == 1 and docs.locator("strong", has_text="as of the end of one month M").count() == 1
    page.screenshot(path=SHOTS / "ui_docs.png")
    page.keyboard.press("Escape")

    page.goto(f"{airflow_ui['base']}/dags/{DAG_ID}/tasks/wait_for_month_files")
    page.get_by_role("button", name="Documentation").click()
    task_docs = page.locator("[role=dialog][data-state=open]")
    task_docs.get_by_text("ask the source system for the files named in the log").wait_for()
    page.screenshot(path=SHOTS / "ui_task_docs.png")


def test_the_trigger_form_runs_one_month(page, airflow_ui):
    page.goto(f"{airflow_ui['base']}/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger Dag").click()
    form = page.locator("[role=dialog][data-state=open]")
    form.get_by_text("Month (YYYY-MM)").wait_for()
    assert form.get_by_text("Backfill 2017-08 … month").is_visible()
    month, backfill = form.locator("#element_month"), form.locator("[name=element_backfill]")
    assert month.count() == 1 and backfill.count() == 1
    assert form.locator("#list_month option[value='2018-03']").count() == 1  # the month suggestions
    month.fill("2018-03")
    page.screenshot(path=SHOTS / "ui_trigger.png")
    with page.expect_response(lambda r: r.url.endswith(f"/dags/{DAG_ID}/dagRuns") and r.request.method == "POST") as sent:
        form.get_by_role("button", name="Trigger").last.click()
    assert sent.value.status == 200, sent.value.text()
    run = sent.value.json()
    assert run["conf"] == {
        "month": "2018-03",
        "backfill": False,
        "what_if_name": None,
        "what_if_rules": {},
    }  # the form, as filled
    assert run["state"] == "queued"
    assert (
        _api(airflow_ui["base"], f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run['dag_run_id'], safe='')}")["conf"]["month"]
        == "2018-03"
    )
    page.get_by_text("Dag run has been successfully triggered").first.wait_for()  # the toast may render twice mid-animation
    page.screenshot(path=SHOTS / "ui_triggered.png")


def test_the_assets_page_lists_the_assets(page, airflow_ui):
    page.goto(airflow_ui["base"] + "/assets")
    for name in ("fsm.staging.markings", "fsm.staging.ydelse", "fsm.marts", "fsm.tranche_report"):
        page.get_by_role("link", name=name, exact=True).wait_for()
    page.screenshot(path=SHOTS / "ui_assets.png")


def test_the_extra_links_open_the_runs_report_and_data_docs(page, airflow_ui):
    base = airflow_ui["base"]
    run = _api(base, f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": {"month": "2018-04", "backfill": False}})
    run_path = f"/dags/{DAG_ID}/runs/{quote(run['dag_run_id'], safe='')}"
    page.goto(f"{base}{run_path}/tasks/write_report/details")
    page.get_by_text("Extra Links").wait_for()
    page.screenshot(path=SHOTS / "ui_extra_links.png")

    page.get_by_role("link", name="Tranche report").click()
    page.wait_for_url(re.compile(r"/fsm/reports/2018-04/tranche_report\.html$"))
    assert page.title() == "Tranche report 2018-04"
    page.screenshot(path=SHOTS / "ui_report.png")

    page.go_back()
    page.get_by_role("link", name="Data Docs").click()
    page.wait_for_url(re.compile(r"/fsm/reports/2018-04/data_docs/index\.html$"))
    assert page.title() == "Data Docs 2018-04"

    page.goto(f"{base}{run_path}/plugin/fsm_report")  # the run's Report tab
    page.frame_locator("iframe").get_by_role("heading", name="Flere skal med – ratestatus 2018-04").wait_for()
    page.screenshot(path=SHOTS / "ui_report_tab.png")


def test_browse_lists_every_months_report(page, airflow_ui):
    page.goto(airflow_ui["base"] + "/dags")
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="FSM reports").click()
    frame = page.frame_locator("iframe")
    frame.get_by_role("heading", name="FSM reports").wait_for()
    assert frame.get_by_role("link", name="tranche report").count() == 2  # 2018-03 and 2018-04
    page.screenshot(path=SHOTS / "ui_browse_reports.png")


def test_a_run_without_its_report_yet_says_so(page, airflow_ui):
    base = airflow_ui["base"]
    run = _api(base, f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": {"month": "2019-01"}})
    page.goto(f"{base}/fsm/run/report?dag_id={DAG_ID}&run_id={quote(run['dag_run_id'], safe='')}")
    page.get_by_role("heading", name="No tranche report for 2019-01 yet").wait_for()
    assert "write_report" in page.content()
