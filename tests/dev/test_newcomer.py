"""What a newcomer runs first: `make run`'s console (fsm_dev.run --history --log, fsm_dev.console) and
`make ui` (fsm_dev.ui) showing its runs in a real browser.

One module fixture runs the make-run flow at the tiny scale on its own Airflow home, landing zone,
reports folder and warehouse database: 2017-08 alone, 2017-09 … 2017-10 in one backfill pass, 2017-11
alone. The UI test then starts `python -m fsm_dev.ui` on that home, signs in with the login it printed,
finds the three runs and stops it as Ctrl-C does. Screenshot: /tmp/ui_make_ui_runs.png.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from support.browser import CHROMIUM, require_chromium
from support.db import database_url, throwaway_database

ROOT = Path(__file__).resolve().parents[2]
MONTHS = ["2017-08", "2017-09", "2017-10", "2017-11"]
SHOT = Path("/tmp/ui_make_ui_runs.png")


def test_the_plan_runs_the_first_month_alone_the_history_in_one_backfill_and_the_last_months_alone():
    from fsm_dev.run import plan

    m = [date(2017, 8 + i, 1) for i in range(4)]
    assert plan(m[0], m[3], backfill=False, history_until=m[2]) == [
        (m[0], False, [m[0]]),
        (m[2], True, [m[1], m[2]]),
        (m[3], False, [m[3]]),
    ]
    assert plan(m[0], m[2], backfill=False, history_until=None) == [(x, False, [x]) for x in m[:3]]
    assert plan(m[0], m[2], backfill=True, history_until=None) == [(m[2], True, m[:3])]


def test_a_month_line_is_its_figures_formatted_by_babel():
    from fsm_dev.console import MonthFigures, month_line

    f = MonthFigures(
        month=date(2018, 3, 1),
        coverage=Decimal("87.12"),
        activity=Decimal("38.2"),
        tranches=(88, 61, 12),
        earned=Decimal("150123456.5"),
        fsm2_share=None,
        fsm2_met=None,
        dq_flags=1234,
        dq_new=5,
        rejects=2,
    )
    line = re.sub(" +", " ", month_line(f, 12.34))  # columns are padded
    assert line.startswith("2018-03 FSM1 coverage")
    for part in (
        "87.12\u00a0%",
        "38.20\u00a0%",
        "tranches 88/61/12",
        "150,123,456.50 DKK",
        "DQ 1,234 (+5)",
        "rejects 2",
        "12.3 s",
    ):
        assert part in line, part
    assert "FSM2" not in line
    f.fsm2_share, f.fsm2_met = Decimal("15.5"), ((Decimal(15), 3), (Decimal(20), 1))
    assert "FSM2 share 15.50\u00a0% · met 15 %: 3 20 %: 1" in re.sub(" +", " ", month_line(f, None))
    assert month_line(f, None).endswith("[backfill]")


def _free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in (8793, 8794):  # the scheduler's and triggerer's log servers
            return port


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory, warehouse_url):
    work = tmp_path_factory.mktemp("newcomer")
    with throwaway_database(database_url(warehouse_url, "postgres"), "fsm_newcomer") as wh:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "FSM_"))}
        env.update({
            "AIRFLOW_HOME": str(work / "airflow"),
            "FSM_PROJECT_ROOT": str(ROOT),
            "FSM_DATA_DIR": str(work / "data"),
            "FSM_REPORTS_DIR": str(work / "reports"),
            "FSM_WAREHOUSE_URL": wh,
            "FSM_SYNTH_SCALE": "tiny",
            "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT / 'dev'}",
        })  # fmt: skip
        log = work / "airflow" / "make-run.log"
        args = ["--synthetic", MONTHS[0], MONTHS[-1], "--history", "--scheduled", "1", "--log", str(log)]
        run = subprocess.run(
            [sys.executable, "-m", "fsm_dev.run", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=900
        )
        yield {"run": run, "env": env, "log": log, "wh": wh, "work": work}


@pytest.mark.slow
def test_make_run_prints_a_line_per_month_and_a_summary_and_airflow_logs_to_a_file(newcomer):
    import psycopg

    run = newcomer["run"]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert lines[0] == f"Airflow's own log: {newcomer['log']}"
    assert len(lines) < 60, run.stdout  # 53 months print under 200 lines: a line a month and the summary
    month_lines = [ln for ln in lines if re.match(r"\d{4}-\d{2}  ", ln)]
    assert [ln[:7] for ln in month_lines] == MONTHS
    assert month_lines[0].endswith(" s]") and month_lines[1].endswith("[backfill]") and month_lines[3].endswith(" s]")
    assert any("2 months in one backfill pass" in ln for ln in lines)
    assert "What came out" in run.stdout and "Where to look" in run.stdout and "make ui" in run.stdout
    assert "DAG TEST" not in run.stdout + run.stderr and "[info" not in run.stdout  # Airflow's records: the file
    assert "[DAG TEST] end task task_id=write_report" in newcomer["log"].read_text()
    with psycopg.connect(newcomer["wh"]) as conn:  # the line says what the warehouse says
        earned = conn.execute(
            "select sum(amount_dkk) from mart_tranche_status where as_of_month = '2017-10-01' and earned"
        ).fetchone()[0]
        # run_log says when each run started: today, not the month's logical date in 2017
        oldest = conn.execute("select min(started_at) from run_log").fetchone()[0]
    assert datetime.now(UTC) - oldest < timedelta(hours=1), oldest
    assert f"earned {earned:,.2f} DKK" in re.sub(" +", " ", month_lines[2])
    assert (newcomer["work"] / "reports" / "2017-09" / "tranche_report.pdf").exists()  # the backfill wrote every month


@pytest.mark.slow
@pytest.mark.browser
def test_make_ui_shows_the_runs_of_make_run_and_stops_on_ctrl_c(newcomer):
    from playwright.sync_api import sync_playwright

    require_chromium()
    assert newcomer["run"].returncode == 0
    port = _free_port()
    ui = subprocess.Popen(
        [sys.executable, "-m", "fsm_dev.ui", "--port", str(port)],
        env=newcomer["env"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        said, url, login = [], None, None
        deadline = time.monotonic() + 300
        while login is None and time.monotonic() < deadline:
            line = ui.stdout.readline()
            if not line:
                break
            said.append(line)
            if line.startswith("Airflow UI:"):
                url = line.split()[-1]
            if line.startswith("login:"):
                login = line.split(":", 1)[1].strip().split(" / ")
        assert url and login, "".join(said)
        assert url == f"http://localhost:{port}/dags/fsm_monthly_monitoring/runs"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(60_000)
            page.goto(url)
            page.get_by_label("Username").fill(login[0])
            page.get_by_label("Password").fill(login[1])
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/dags/fsm_monthly_monitoring/runs**")
            page.get_by_text("3 Dag Runs").wait_for()
            rows = page.locator("table tbody tr", has_text="Success")
            rows.first.wait_for()
            assert rows.count() == 3
            # each run's Start Date is when it ran (the day in its run id), not its logical date in 2017 (dag.test's
            # stamp, which the runner corrects): every date-time shown after the run id (Run After, Start Date)
            for i in range(3):
                run_id, rest = rows.nth(i).inner_text().split("+00:00", 1)
                shown = set(re.findall(r"(\d{4}-\d{2}-\d{2}) \d{2}:\d{2}:\d{2}", rest))
                assert shown == {re.search(r"\d{4}-\d{2}-\d{2}", run_id).group()}, rest
            page.wait_for_timeout(1000)
            page.screenshot(path=SHOT)
            browser.close()
    finally:
        ui.send_signal(signal.SIGINT)  # as Ctrl-C
        out, _ = ui.communicate(timeout=120)
    assert ui.returncode == 0, out
    assert out.rstrip().endswith("stopped.")
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # the api-server is gone
