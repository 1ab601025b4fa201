"""Alerts for fsm_monthly_monitoring: a failed task, or a run far slower than usual, told to the operators.

One Airflow connection, `fsm_alerts`, says where alerts go (so ops change it without a deploy):
- conn_type `smtp` (the default channel): the SMTP provider's SmtpNotifier sends the mail; host, port,
  login and password as usual, extra `to` (a list or comma-separated) and `from_email`, plus the
  provider's own extras (`disable_ssl`, `disable_tls`, `timeout`).
- conn_type `apprise`: chat (Slack, Teams workflows, Mattermost, …) through the Apprise provider; the
  connection's `config` extra holds the Apprise URL(s) (`{"path": "slack://…"}`); Apprise renders the text
  for each service.
- conn_type `http`/`https`: a generic JSON webhook, sent by Apprise too (`json://…`: title, message, type).
Without the connection an alert is only logged: local runs and tests need no mail server.
A slow-run (deadline) alert is only sent while the run is still running: Airflow 3.3.2 keeps the
deadlines of failed runs (apache/airflow#60927), so their callback would warn about a finished run.
"""

from __future__ import annotations

import html
import logging
import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from airflow.sdk import BaseNotifier

from fsm.config import settings

log = logging.getLogger(__name__)

ALERT_CONN_ID = "fsm_alerts"
CHAT_TYPES = ("apprise", "http", "https")  # everything else is mailed (SMTP, the default)


class FsmAlert(BaseNotifier):
    """`kind="failure"`: a task's on_failure_callback (runs in the worker, sync).
    `kind="deadline"`: the DAG's DeadlineAlert callback (runs in the triggerer, async)."""

    def __init__(self, kind: str = "failure", conn_id: str = ALERT_CONN_ID, context: Any = None):
        super().__init__(context=context)
        if kind not in ("failure", "deadline"):
            raise ValueError(f"kind must be 'failure' or 'deadline', got {kind!r}")
        self.kind = kind
        self.conn_id = conn_id

    def notify(self, context) -> None:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException

        subject, lines = message(self.kind, context)
        if not still_running(self.kind, context):
            return
        try:
            conn = BaseHook.get_connection(self.conn_id)
        except AirflowNotFoundException:
            log.warning("no Airflow connection %r: alert only logged. %s | %s", self.conn_id, subject, " | ".join(lines))
            return
        if conn.conn_type in CHAT_TYPES:
            _apprise_notifier(conn, self.kind, subject, lines).notify(context)
        else:
            _smtp_notifier(conn, subject, lines).notify(context)
        log.info("alert sent via %s connection %r: %s", conn.conn_type, self.conn_id, subject)

    async def async_notify(self, context) -> None:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException

        subject, lines = message(self.kind, context)
        if not still_running(self.kind, context):
            return
        try:
            conn = await BaseHook.aget_connection(self.conn_id)
        except AirflowNotFoundException:
            log.warning("no Airflow connection %r: alert only logged. %s | %s", self.conn_id, subject, " | ".join(lines))
            return
        if conn.conn_type in CHAT_TYPES:
            await _apprise_notifier(conn, self.kind, subject, lines).async_notify(context)
        else:
            await _smtp_notifier(conn, subject, lines).async_notify(context)
        log.info("alert sent via %s connection %r: %s", conn.conn_type, self.conn_id, subject)


def still_running(kind: str, context) -> bool:
    """A failure alert always goes; a slow-run alert only while its run is still queued or running."""
    if kind != "deadline":
        return True
    state = str((context.get("dag_run") or {}).get("state") or "running").lower()
    if state in ("running", "queued"):
        return True
    log.info("slow-run alert dropped: the run already ended (%s); its failure alert, if any, went out then", state)
    return False


def message(kind: str, context) -> tuple[str, list[str]]:
    """The subject and the lines of an alert; the lines say what to do, not only what happened."""
    from fsm.cpr import mask  # an error text may quote an input row: never mail a CPR

    if kind == "deadline":
        run = context.get("dag_run") or {}
        dag_id, run_id = run.get("dag_id", "fsm_monthly_monitoring"), run.get("dag_run_id") or run.get("run_id", "?")
        month = (run.get("conf") or {}).get("month") or "the data interval's month"
        deadline = (context.get("deadline") or {}).get("deadline_time")
        return (
            f"[FSM] {dag_id}: run {run_id} is taking far longer than usual",
            [
                f"Run {run_id} (month {month}), started {run.get('start_date')}, has not finished by {deadline} "
                "(its usual duration plus the margin in the DAG's DeadlineAlert). It is still running: this is a warning.",
                "What to do: open the run. If wait_for_month_files is waiting, the month's files have not all arrived "
                "(its log names them; ask the source system). If another task runs long, check the warehouse "
                "(locks in pg_stat_activity, disk) and that task's log.",
                f"Run: {run_url(dag_id, run_id)}",
            ],
        )
    ti, task = context.get("ti"), context.get("task")
    dag_id = getattr(ti, "dag_id", "fsm_monthly_monitoring")
    run_id, task_id = getattr(ti, "run_id", "?"), getattr(ti, "task_id", "?")
    month = _month_of(context)
    error = mask(str(context.get("exception") or "see the log"))[:2000]
    todo = _on_failure(getattr(task, "doc_md", None) or "")
    return (
        f"[FSM] {month or run_id}: {task_id} failed ({dag_id})",
        [
            f"Task {task_id} of run {run_id} (month {month or '?'}) failed on try {getattr(ti, 'try_number', '?')}, its last.",
            f"Error: {error}",
            f"What to do: {todo}" if todo else "What to do: read the log, fix the cause, clear the task.",
            f"Log: {getattr(ti, 'log_url', None) or run_url(dag_id, run_id)}",
        ],
    )


def run_url(dag_id: str, run_id: str) -> str:
    from airflow.sdk.configuration import conf

    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    return f"{base}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def _month_of(context) -> str | None:
    month = (context.get("params") or {}).get("month")
    if month:
        return str(month)[:7]
    start = context.get("data_interval_start")
    if start is None:
        return None
    from fsm.months import COPENHAGEN

    return start.astimezone(COPENHAGEN).strftime("%Y-%m")


def _on_failure(doc: str) -> str:
    """The task doc's '**On failure**' advice (docs.TASK_DOCS), as one plain line."""
    found = re.search(r"\*\*On failure[^*]*\*\*(.*)", doc, re.S | re.I)
    text = re.sub(r"^\s*(\([^)]*\))?\s*:?", "", found.group(1)) if found else doc  # '**On failure** (timeout): ...'
    return re.sub(r"\s+", " ", text.replace("*", "").replace("`", "")).strip()


def _smtp_notifier(conn, subject: str, lines: list[str]):
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    extra = conn.extra_dejson
    to = extra.get("to")
    if not to:
        raise ValueError(f"Airflow connection {conn.conn_id!r} (smtp) needs extra 'to': who gets the FSM alerts")
    body = "".join(f"<p>{_linkify(html.escape(line))}</p>" for line in lines)
    return SmtpNotifier(to=to, from_email=extra.get("from_email"), subject=subject, html_content=body, smtp_conn_id=conn.conn_id)


def _linkify(text: str) -> str:
    return re.sub(r"(https?://[^\s<]+)", r'<a href="\1">\1</a>', text)


def _apprise_notifier(conn, kind: str, subject: str, lines: list[str]):
    """Chat through the Apprise provider: conn_type apprise uses the connection's own Apprise config; an
    http(s) connection is a generic JSON webhook (Apprise's json:// and jsons:// services)."""
    from airflow.providers.apprise.notifications.apprise import AppriseNotifier
    from apprise import NotifyFormat, NotifyType

    config = None
    if conn.conn_type in ("http", "https"):
        url = conn.host if "://" in (conn.host or "") else f"{conn.conn_type}://{conn.host}{f':{conn.port}' if conn.port else ''}"
        config = re.sub(r"^http(s?)://", lambda m: "jsons://" if m.group(1) else "json://", url)
    return AppriseNotifier(
        title=subject,
        body="\n\n".join(lines),
        notify_type=NotifyType.WARNING if kind == "deadline" else NotifyType.FAILURE,
        body_format=NotifyFormat.TEXT,
        config=config,
        apprise_conn_id=conn.conn_id,
    )


def slow_run_alert(last_runs: int = 6):
    """The DAG's DeadlineAlert: a run not done `slow_run_alert_hours` (config) after the average duration of the
    last runs (once three have finished) gets an FsmAlert('deadline') from the triggerer; the run goes on.

    Unset or 0: no alert. Deployments switch it on (docker-compose: 6 h); the local runner must not, as
    Airflow 3.3.2's dag.test() (fsm.run) fails at the end of any run of a DAG with a DeadlineAlert
    (DagRun.update_state looks up alert ids where dag.test's DAG holds their definitions).
    """
    from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

    hours = settings().slow_run_alert_hours
    if hours <= 0:
        return None
    return DeadlineAlert(
        reference=DeadlineReference.AVERAGE_RUNTIME(max_runs=last_runs, min_runs=min(3, last_runs)),
        interval=timedelta(hours=hours),  # a plain timedelta: Airflow cannot serialize pendulum's Duration
        callback=AsyncCallback(FsmAlert, kwargs={"kind": "deadline"}),
        name="fsm_slow_run",
    )
