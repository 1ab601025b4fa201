"""The FSM pages in the Airflow UI: links from a run to its tranche report and Data Docs, served by the api-server.

Loaded by plugins/fsm_airflow_plugin.py. The links name the run, not a file: the month is resolved
when the link is clicked (the XCom of wait_for_month_files, else the run's `month` param, else its
data interval, as in the DAG), and the api-server serves the reports folder (config.reports_dir) <YYYY-MM>/ to users who may
read the DAG. Browsers do not follow file:// links from an http page, hence the served pages.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from airflow.sdk import BaseOperatorLink

DAG_ID = "fsm_monthly_monitoring"
MONTH_TASK = "wait_for_month_files"
PAGES = {"report": "tranche_report.html", "data_docs": "data_docs/index.html"}
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def url_prefix() -> str:
    """Where the app is mounted, below the api-server's base_url path (links are origin-relative)."""
    from airflow.configuration import conf

    root = urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")
    return f"{root}/fsm"


def run_link(dag_id: str, run_id: str, page: str) -> str:
    return f"{url_prefix()}/run/{page}?{urlencode({'dag_id': dag_id, 'run_id': run_id})}"


class _RunPageLink(BaseOperatorLink):
    page = "report"

    def get_link(self, operator, *, ti_key) -> str:
        # A global link: every task of every DAG asks; only ours answer (an empty link is hidden).
        return run_link(ti_key.dag_id, ti_key.run_id, self.page) if ti_key.dag_id == DAG_ID else ""


class ReportLink(_RunPageLink):
    name = "Tranche report"
    page = "report"


class DataDocsLink(_RunPageLink):
    name = "Data Docs"
    page = "data_docs"


def resolve_month(xcom_value: Any, conf: dict | None, data_interval_start: datetime | None) -> str | None:
    """YYYY-MM of a run: what its sensor computed, else what the DAG would compute; None if unknowable."""
    from fsm import months

    try:
        if xcom_value:
            return months.label(months.parse_month(str(xcom_value)))
        return months.label(months.as_of_month(conf or {}, data_interval_start))
    except ValueError:
        return None


def report_file(root: Path, month: str, relative: str) -> Path | None:
    """The file under root/<month>/, or None for anything else (bad month, '..', a folder, missing)."""
    if not _MONTH.match(month):
        return None
    base = (root / month).resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


def month_of_run(session, dag_id: str, run_id: str) -> tuple[bool, str | None]:
    """(the run exists, its month) from the metadata database."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from sqlalchemy import select

    run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    if run is None:
        return False, None
    query = XComModel.get_many(run_id=run_id, dag_ids=dag_id, task_ids=MONTH_TASK, key="return_value", map_indexes=-1)
    row = session.scalars(query).first()
    value = XComModel.deserialize_value(row) if row is not None else None
    return True, resolve_month(value, run.conf, run.data_interval_start)


def _first_day(month: str | None):
    from fsm import months

    return months.parse_month(month) if month else None


def _page(title: str, body: str, status: int = 200):
    from fastapi.responses import HTMLResponse

    return HTMLResponse(
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
        "<body style='font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;line-height:1.5'>"
        f"<h1 style='font-size:1.4rem'>{html.escape(title)}</h1>{body}</body>",
        status_code=status,
    )


def create_app():
    from airflow.api_fastapi.core_api.security import requires_access_dag
    from airflow.utils.session import create_session
    from fastapi import Depends, FastAPI
    from fastapi.responses import FileResponse, RedirectResponse

    from fsm.config import reports_dir

    app = FastAPI(
        title="FSM reports",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(requires_access_dag("GET", param_dag_id=DAG_ID))],  # who may read the DAG reads its reports
    )

    @app.get("/run/{page}")
    def run_page(page: str, dag_id: str, run_id: str):
        if page not in PAGES or dag_id != DAG_ID:
            return _page("Not an FSM page", f"<p>Reports exist only for runs of <code>{DAG_ID}</code>.</p>", 404)
        with create_session() as session:
            found, month = month_of_run(session, dag_id, run_id)
        if not found:
            return _page("No such run", f"<p>Run <code>{html.escape(run_id)}</code> does not exist.</p>", 404)
        if month is None:
            return _page("Month unknown", "<p>The run has no data interval and no <code>month</code> param.</p>", 404)
        if report_file(reports_dir(), month, PAGES[page]) is None:
            what = "tranche report" if page == "report" else "Data Docs"
            return _page(
                f"No {what} for {month} yet",
                f"<p>Run <code>{html.escape(run_id)}</code> computes {month}, but "
                f"<code>{html.escape(str(reports_dir() / month / PAGES[page]))}</code> does not exist yet: "
                f"{'write_report' if page == 'report' else 'the quality tasks'} have not finished for this month. "
                "Look at the run's task states; the page appears once they succeed.</p>"
                f"<p><a href='{url_prefix()}/reports/'>All months' reports</a></p>",
                404,
            )
        return RedirectResponse(f"{url_prefix()}/reports/{month}/{PAGES[page]}", status_code=302)

    @app.get("/status/")
    @app.get("/status/{month}")
    def status(month: str | None = None):
        from fastapi.responses import HTMLResponse

        from fsm import warehouse
        from fsm.ops.status import render

        if month is not None and not _MONTH.match(month):
            return _page("Not a month", f"<p><code>{html.escape(month)}</code> is not YYYY-MM.</p>", 404)
        try:
            with warehouse.connect() as conn:
                conn.read_only = True
                body, code = render(conn, _first_day(month), url_prefix())
        except Exception as exc:  # noqa: BLE001 - a page, not a traceback: say what is wrong with the warehouse
            return _page("No figures", f"<p>The warehouse cannot be read: {html.escape(type(exc).__name__)}.</p>", 503)
        return HTMLResponse(body, status_code=code)

    @app.get("/reports/")
    def index():
        root = reports_dir()
        found = (
            sorted((p.name for p in root.iterdir() if p.is_dir() and _MONTH.match(p.name)), reverse=True) if root.is_dir() else []
        )
        rows = "".join(
            f"<li>{m}: <a href='{m}/{PAGES['report']}'>tranche report</a>"
            + (f" · <a href='{m}/{PAGES['data_docs']}'>Data Docs</a>" if report_file(root, m, PAGES["data_docs"]) else "")
            + "</li>"
            for m in found
        )
        return _page("FSM reports", f"<p>{html.escape(str(root))}</p><ul>{rows or '<li>none yet</li>'}</ul>")

    @app.get("/reports/{month}/{relative:path}")
    def report(month: str, relative: str):
        target = report_file(reports_dir(), month, relative)
        if target is None:
            return _page("Not found", f"<p>No file <code>{html.escape(month)}/{html.escape(relative)}</code>.</p>", 404)
        return FileResponse(target)

    return app


class LazyApp:
    """An ASGI app built on its first request: plugins load in every Airflow process, FastAPI matters only
    in the api-server."""

    def __init__(self) -> None:
        self._app = None

    async def __call__(self, scope, receive, send) -> None:
        if self._app is None:
            self._app = create_app()
        await self._app(scope, receive, send)

    def __repr__(self) -> str:
        return "fsm.ops.ui.create_app()"


reports_app = LazyApp()
