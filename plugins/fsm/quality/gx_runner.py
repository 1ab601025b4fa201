"""Great Expectations 1.x on the warehouse, called from task functions (never at DAG parse time).

Suites live as JSON in `expectations/` (one per checked table). Each names its batch in
`meta.fsm.batch_query` (the rows month M's run is about) and its kind: `input` and `mart` suites
fail their task, `marking_rules` suites only flag. An expectation whose query is `@dq/<rule>.sql`
takes the SQL of that marking rule, so the same query drives GX and the violations table.
Results are rendered as Data Docs under `<reports folder>/<YYYY-MM>/data_docs/` (config.reports_dir).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from fsm import months
from fsm.config import DATA_DIR, EXPECTATIONS_DIR, kommuner, reports_dir
from fsm.warehouse import render_sql, sql_path, sqlalchemy_url

log = logging.getLogger(__name__)


@dataclass
class ExpectationOutcome:
    suite: str
    expectation: str  # type and column/description, for messages
    success: bool
    unexpected_count: int | None
    rule_id: str | None = None
    error: str | None = None


@dataclass
class SuiteOutcome:
    suite: str
    kind: str
    success: bool
    outcomes: list[ExpectationOutcome] = field(default_factory=list)

    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]


def data_docs_dir(month: date) -> Path:
    return reports_dir() / months.label(month) / "data_docs"


def load_suite(name: str, params: dict[str, object]) -> tuple[dict, str, str]:
    """(GX suite dict, kind, batch query) with placeholders and @dq/ references filled in."""
    doc = json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    fsm_meta = doc.get("meta", {}).get("fsm", {})
    for exp in doc["expectations"]:
        kw = exp["kwargs"]
        if kw.get("value_set") == "$kommuner":
            kw["value_set"] = sorted(kommuner())
        query = kw.get("unexpected_rows_query")
        if query and query.startswith("@"):
            kw["unexpected_rows_query"] = render_sql(sql_path(query[1:]).read_text(encoding="utf-8"), params)
        elif query:
            kw["unexpected_rows_query"] = render_sql(query, params)
    return doc, fsm_meta.get("kind", "input"), render_sql(fsm_meta["batch_query"], params)


def _column_names_without_rows() -> None:
    """GX reads a query asset's column names by running the whole query and fetching every row (its
    column_reflection_fallback executes the TextClause as it is): a batch of 7 million benefit rows came to
    Python to name 12 columns. Here the query runs under `limit 0`; everything else is GX's own."""
    import sqlalchemy as sa
    from great_expectations.expectations.metrics import util

    original = util.column_reflection_fallback
    if getattr(original, "fsm_limit0", False):
        return

    def fallback(selectable, *args, **kwargs):
        if isinstance(selectable, sa.TextClause):
            selectable = sa.text(f"select * from ({selectable.text}) as fsm_batch_columns limit 0")
        return original(selectable, *args, **kwargs)

    fallback.fsm_limit0 = True
    util.column_reflection_fallback = fallback


def run_suites(
    names: list[str], month: date, params: dict[str, object], fresh_docs: bool = False, result_format: str = "SUMMARY"
) -> list[SuiteOutcome]:
    """Validate each suite on its batch; Data Docs for the month. `result_format` BOOLEAN_ONLY skips GX's
    query for example unexpected values (one scan of the batch per expectation): the suites that must pass
    run so first, and only a failing one again with SUMMARY (fsm.quality.checks)."""
    import great_expectations as gx  # ~2 s and 230 MB: only inside tasks
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _column_names_without_rows()

    project = DATA_DIR / "gx" / months.label(month)
    docs = data_docs_dir(month)
    if fresh_docs:  # the first quality task of a run starts the month's docs afresh (reruns reproduce)
        shutil.rmtree(project, ignore_errors=True)
        shutil.rmtree(docs, ignore_errors=True)
    project.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(project))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    site = "fsm_month"
    if site not in (context.get_site_names() or []):
        context.add_data_docs_site(
            site_name=site,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    # add_sql, not add_postgres: the latter rejects unix-socket URLs (ARCHITECTURE).
    ds = context.data_sources.add_or_update_sql(name="warehouse", connection_string=sqlalchemy_url())
    results = []
    for name in names:
        doc, kind, batch_query = load_suite(name, params)
        for existing in [a.name for a in ds.assets if a.name == name]:
            ds.delete_asset(existing)
        asset = ds.add_query_asset(name=name, query=batch_query)
        batch_def = asset.add_batch_definition_whole_table(f"{name}_batch")
        suite = context.suites.add_or_update(
            gx.ExpectationSuite(name=name, expectations=doc["expectations"], meta=doc.get("meta"))
        )
        vd_name = f"{name}_{months.label(month)}"
        try:
            context.validation_definitions.delete(vd_name)
        except Exception:  # noqa: BLE001 - absent on the first run
            pass
        vd = context.validation_definitions.add(gx.ValidationDefinition(name=vd_name, data=batch_def, suite=suite))
        result = vd.run(result_format={"result_format": result_format})
        results.append(_outcome(name, kind, result))
    context.build_data_docs(site_names=[site])
    from fsm.quality.data_docs import localise  # GX links CDNs; operators' machines have no internet

    localise(docs)
    log.info("Data Docs: %s", (docs / "index.html").as_uri())
    return results


def _outcome(name: str, kind: str, result) -> SuiteOutcome:
    out = SuiteOutcome(name, kind, bool(result.success))
    for r in result.results:
        cfg = r.expectation_config
        kw = cfg.kwargs
        label = cfg.type + (
            f"({kw['column']})" if "column" in kw else f"({', '.join(kw['column_list'])})" if "column_list" in kw else ""
        )
        if cfg.description:
            label = f"{cfg.type}: {cfg.description}"
        res = r.result or {}
        unexpected = res.get("unexpected_count")
        if unexpected is None and isinstance(res.get("observed_value"), int):
            unexpected = res["observed_value"]  # UnexpectedRowsExpectation reports its row count here
        error = None
        if r.exception_info and r.exception_info.get("raised_exception"):
            error = str(r.exception_info.get("exception_message"))[:500]
        else:  # some GX versions key exception_info by metric id
            for v in (r.exception_info or {}).values():
                if isinstance(v, dict) and v.get("raised_exception"):
                    error = str(v.get("exception_message"))[:500]
        out.outcomes.append(ExpectationOutcome(name, label, bool(r.success), unexpected, (cfg.meta or {}).get("rule_id"), error))
    return out


def describe_failures(outcomes: list[SuiteOutcome]) -> str:
    parts = []
    for s in outcomes:
        for o in s.failures():
            what = f"error: {o.error}" if o.error else f"failed on {o.unexpected_count} row(s)"
            parts.append(f"{s.suite}: {o.expectation} {what}")
    return "; ".join(parts)
