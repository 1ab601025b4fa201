"""The FSM status view (fsm.ops.status, /fsm/status/ in the Airflow UI): per municipality the tranches with earned
month and amount, coverage, the activity share over the months, DQ flags and links; behind Airflow's auth."""

from __future__ import annotations

import socket
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from fsm import months
from fsm.quality import check_markings
from fsm.report import write_reports
from fsm.report.feedback import write_feedback
from support.browser import CHROMIUM
from support.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
MARCH = date(2018, 3, 1)


@pytest.fixture
def march(landing, wh, monkeypatch, tmp_path):
    """København (101): 5 in group 1 from 2017-09 (P2 2017-09), 40 % active Jan–Mar 2018 (P3 2018-03), grant
    333,333.33 → 100,000.00 / 133,333.33 / 100,000.00; one backdated marking (M3). Ballerup (151): 2 citizens, none
    visited (coverage 0 %), grant 250,000.01."""
    sc = Scenario(landing)
    for p in range(1, 6):
        sc.brutto(p).mark(f"g{p}", p, "FSM_GR1", "2017-09-01", registered="2017-09-20" if p == 5 else None)
    for month in ("2017-10", "2017-11", "2018-01", "2018-02", "2018-03"):
        for p in (1, 2):
            sc.hours(month, p, "7,5")
    sc.brutto(6, kommune=151).brutto(7, kommune=151)
    sc.grant(101, "333333,33").grant(151, "250000,01")
    monkeypatch.setenv("FSM_PROGRAMMES", "FSM1")
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path / "reports"))
    sc.run("2018-03")
    for m in months.month_range(date(2017, 8, 1), MARCH):
        check_markings(m)
    write_reports(MARCH)
    write_feedback(MARCH)
    return tmp_path / "reports"


def _client(authorised: bool):
    from fastapi.testclient import TestClient

    from fsm.ops.ui import create_app

    app = create_app()
    if authorised:  # stand in for a user who may read the DAG
        (check,) = app.router.dependencies
        app.dependency_overrides[check.dependency] = lambda: None
    return app, TestClient(app)


def test_the_status_view_needs_a_user_who_may_read_the_dag():
    _, client = _client(authorised=False)
    assert client.get("/status/").status_code == 401
    assert client.get("/status/2018-03").status_code == 401


def test_the_status_view_shows_each_municipalitys_tranches_flags_and_links(march):
    _, client = _client(authorised=True)
    page = client.get("/status/2018-03")
    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert "101 København" in html and "151 Ballerup" in html
    assert "100.000,00" in html and "133.333,33" in html  # København's tranches (P4), Danish money through Babel
    assert "2017-08" in html and "2017-09" in html and "2018-03" in html  # earned months P1, P2, P3
    assert "Tilbagedateret markering (M3): 1" in html  # g5 registered 19 days after its start
    assert html.count("<svg") == 2  # one activity chart per municipality
    assert (
        "/fsm/reports/2018-03/kommuner/101_K%C3%B8benhavn.xlsx" in html
        or "/fsm/reports/2018-03/kommuner/101_København.xlsx" in html
    )
    assert "/fsm/reports/2018-03/tranche_report.html" in html
    assert client.get("/status/").text == html  # no month: the newest
    assert client.get("/status/2019-13").status_code == 404


def test_an_empty_warehouse_says_so(wh):
    _, client = _client(authorised=True)
    page = client.get("/status/")
    assert page.status_code == 404 and "Lageret har endnu ingen tal" in page.text  # Danish: the default language


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.browser
def test_the_status_view_in_chromium(march):
    """Served as the api-server serves it (uvicorn), looked at in headless Chromium; the screenshot goes to build/."""
    import uvicorn
    from playwright.sync_api import sync_playwright

    app, _ = _client(authorised=True)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    out = ROOT / "build" / "status-view"
    out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 700})
            page.goto(f"http://127.0.0.1:{port}/status/2018-03")
            rows = page.locator("#fsm1 tbody tr")
            assert rows.count() == 2
            assert (
                page.locator("#fsm1 svg").count() == 2 and page.locator("#fsm1 svg polyline").count() == 1
            )  # Ballerup: no group 1
            page.screenshot(path=str(out / "status-2018-03.png"), full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(5)
