"""The marts' basis facts against a real warehouse (P1–P4, F8): the English columns are the sentences the SQL used
to write, and a changed budget or coverage rule changes the facts and every sentence made from them."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from report.support import build, build_fsm2
from support.db import empty_warehouse
from support.scenario import Scenario

# The sentences exactly as include/sql/marts wrote them before V005 (default rules: pool 262,500,000,
# coverage 100 %, activity 40 % three months running), applied to the facts: an oracle for the Python rendering.
TRANCHE_ORACLE = """
with m as (select *, basis_args as a from mart_tranche_status),
lists as (
    select m.as_of_month, m.kommune_kode, m.tranche,
        (select string_agg(to_char(x::date, 'YYYY-MM'), ', ' order by i)
         from jsonb_array_elements_text(m.a -> 'months') with ordinality as e (x, i)) as months_,
        (select string_agg(coalesce(trim_scale(x::numeric)::text || ' %', 'n/a'), ', ' order by i)
         from jsonb_array_elements_text(case jsonb_typeof(m.a -> 'shares') when 'array' then m.a -> 'shares' end)
              with ordinality as e (x, i)) as shares
    from m
)
select m.as_of_month, m.kommune_kode, m.tranche, m.basis_code, m.basis, m.grant_source,
    case m.basis_code
        when 'P1_paid_at_start' then 'paid at project start (P1): ' || to_char((a ->> 'month')::date, 'YYYY-MM')
        when 'P2_coverage_met' then
            'coverage ' || trim_scale(round(100.0 * (a ->> 'accounted_n')::int / (a ->> 'target_n')::int, 2)) || ' % ('
            || to_char((a ->> 'accounted_n')::int, 'FM999,999,990') || ' of ' || to_char((a ->> 'target_n')::int, 'FM999,999,990')
            || ') in ' || to_char((a ->> 'month')::date, 'YYYY-MM') || ' (P2)'
        when 'P2_no_snapshot' then
            'no markings snapshot for ' || to_char((a ->> 'month')::date, 'YYYY-MM') || ' yet; needs coverage 100 % (P2)'
        when 'P2_coverage_short' then
            'coverage ' || coalesce(trim_scale((a ->> 'coverage_pct')::numeric)::text, 'n/a') || ' % ('
            || to_char((a ->> 'accounted_n')::int, 'FM999,999,990') || ' of ' || to_char((a ->> 'target_n')::int, 'FM999,999,990')
            || ') in ' || to_char((a ->> 'month')::date, 'YYYY-MM') || '; needs 100 % (P2)'
        when 'P3_activity_met' then 'activity share ≥ 40 % in ' || l.months_ || ' (' || l.shares || '; P3)'
        else 'activity share ' || coalesce(l.shares, 'n/a') || ' in ' || l.months_
            || '; needs 40 % 3 months running (' || (a ->> 'months_met') || ' of 3 met; P3)'
    end as oracle_basis,
    case m.grant_source_code
        when 'P4_allocation_file' then 'allocation file (reference/allocations)'
        when 'P4_allocation_missing' then 'allocation file: municipality missing, grant 0'
        when 'P4_default_split' then 'P4 default: 262,500,000 DKK split by target group at start (largest remainder)'
    end as oracle_grant_source
from m inner join lists as l using (as_of_month, kommune_kode, tranche)
"""
REQUIREMENT_ORACLE = """
select as_of_month, kommune_kode, threshold_pct, basis_code, basis,
    case basis_code
        when 'F8_met' then
            'result share ' || trim_scale((basis_args ->> 'share_pct')::numeric) || ' % (' || (basis_args ->> 'active_n') || ' of '
            || (basis_args ->> 'indsatsgruppe_n') || ') in ' || to_char((basis_args ->> 'month')::date, 'YYYY-MM')
            || ' (≥ ' || trim_scale(threshold_pct) || ' %, F8)'
        else
            'best result share ' || coalesce(trim_scale((basis_args ->> 'share_pct')::numeric)::text || ' %', 'n/a') || ' in '
            || to_char((basis_args ->> 'month')::date, 'YYYY-MM') || '; needs ' || trim_scale(threshold_pct) || ' % in one month (F8)'
    end as oracle_basis
from mart_fsm2_requirement
"""


def _compare(wh) -> dict[str, int]:
    """Every mart row's English basis (and grant source) against the oracle; the codes seen, counted."""
    seen: dict[str, int] = {}
    with wh.connect() as conn:
        for row in conn.execute(TRANCHE_ORACLE).fetchall():
            *key, code, basis, grant_source, oracle_basis, oracle_grant_source = row
            assert (basis, grant_source) == (oracle_basis, oracle_grant_source), key
            seen[code] = seen.get(code, 0) + 1
        for row in conn.execute(REQUIREMENT_ORACLE).fetchall():
            *key, code, basis, oracle_basis = row
            assert basis == oracle_basis, key
            seen[code] = seen.get(code, 0) + 1
    return seen


def test_P1_P2_P3_P4_F8_english_basis_is_the_sentence_the_sql_wrote_row_for_row(wh, tmp_path):
    """Every row of a backfill (all as-of months) of the report's scenarios, one municipality missing from the
    allocation file, then without the file (P4 default): the Python rendering equals the old SQL's text."""
    sc = Scenario(tmp_path / "fsm1")
    build(sc)
    sc.grant(173, "1000,50")  # the allocation file names 173, which has no citizens; 151 stays in it
    sc.brutto(40, kommune=159)  # Gladsaxe: a target group but missing from the file (grant 0)
    sc.run("2018-03", backfill=True)
    seen = _compare(wh)
    assert {"P1_paid_at_start", "P2_coverage_met", "P2_coverage_short", "P3_activity_met", "P3_activity_short"} <= set(seen)
    with wh.connect() as conn:
        sources = dict(conn.execute("select grant_source_code, count(*) from mart_tranche_status group by 1").fetchall())
        shares = conn.execute(
            "select count(*) from mart_tranche_status where basis_code like 'P3%' and basis_args -> 'shares' @> '[null]'"
        ).fetchone()[0]
    assert set(sources) == {"P4_allocation_file", "P4_allocation_missing"} and shares > 0  # 'n/a' among the shares

    empty_warehouse()
    sc = Scenario(tmp_path / "fsm1_default")
    build(sc)
    sc.allocations.clear()
    sc.run("2018-03", backfill=True)
    assert _compare(wh)
    with wh.connect() as conn:
        assert conn.execute(
            "select distinct grant_source_code, basis_args -> 'pool_dkk' from mart_tranche_status"
        ).fetchall() == [("P4_default_split", 262500000)]

    empty_warehouse()
    sc = Scenario(tmp_path / "fsm2")
    build_fsm2(sc)
    sc.run("2019-03", backfill=True, programme="FSM2")
    seen = _compare(wh)
    assert {"F8_met", "F8_not_met"} <= set(seen)


def _report_text(out: Path) -> str:
    """The report's text: the csv's cells, the xlsx's strings and the html."""
    rows = csv.reader(io.StringIO((out / "tranche_report.csv").read_bytes().decode("utf-8-sig")), delimiter=";")
    texts = ["\n".join(cell for row in rows for cell in row), (out / "tranche_report.html").read_text("utf-8")]
    with zipfile.ZipFile(out / "tranche_report.xlsx") as z:
        texts.append(z.read("xl/sharedStrings.xml").decode("utf-8"))
    return "\n".join(texts)


def test_P2_P4_changing_the_budget_or_the_coverage_rule_changes_the_facts_and_the_sentences(wh, tmp_path, monkeypatch):
    """P4's pool and P2's required coverage are rules (FSM_RULE_FSM1_BUDGET_DKK, FSM_RULE_COVERAGE_REQUIRED_PCT): the
    facts carry the values in force, and the warehouse's English and the report's Danish both say them."""
    from fsm.report import write_reports

    sc = Scenario(tmp_path / "landing")
    for p in range(1, 5):  # coverage 25 % (1 of 4) in 2017-09: short of 100 % and of 50 %
        sc.brutto(p, kommune=101)
    sc.mark("g1", 1, "FSM_GR1", "2017-09-01", kommune=101)
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.delenv("FSM_REPORT_LANG", raising=False)

    def run() -> tuple[tuple, str, str]:
        sc.run("2017-09")
        with wh.connect() as conn:
            facts = conn.execute(
                "select basis_args -> 'pool_dkk', basis_args -> 'required_pct', basis, grant_source from mart_tranche_status"
                " where as_of_month = '2017-09-01' and kommune_kode = 101 and tranche = 2"
            ).fetchone()
        danish = _report_text(Path(write_reports(date(2017, 9, 1))["dir"]))
        monkeypatch.setenv("FSM_REPORT_LANG", "en")
        english = _report_text(Path(write_reports(date(2017, 9, 1))["dir"]))
        monkeypatch.delenv("FSM_REPORT_LANG")
        return facts, danish, english

    facts, danish, english = run()
    assert facts == (262500000, 100, "coverage 25 % (1 of 4) in 2017-09; needs 100 % (P2)",
                     "P4 default: 262,500,000 DKK split by target group at start (largest remainder)")  # fmt: skip
    assert "dækning 25 % (1 af 4) i 2017-09; kræver 100 % (P2)" in danish
    assert "P4 standard: 262.500.000 kr. fordelt efter målgruppen ved projektstart (største rest)" in danish
    assert "needs 100 % (P2)" in english and "P4 default: 262,500,000 DKK" in english

    monkeypatch.setenv("FSM_RULE_FSM1_BUDGET_DKK", "1000000")
    monkeypatch.setenv("FSM_RULE_COVERAGE_REQUIRED_PCT", "50")
    facts, danish, english = run()
    assert facts == (1000000, 50, "coverage 25 % (1 of 4) in 2017-09; needs 50 % (P2)",
                     "P4 default: 1,000,000 DKK split by target group at start (largest remainder)")  # fmt: skip
    assert "dækning 25 % (1 af 4) i 2017-09; kræver 50 % (P2)" in danish
    assert "P4 standard: 1.000.000 kr. fordelt efter målgruppen ved projektstart (største rest)" in danish
    assert "262.500.000" not in danish and "kræver 100 %" not in danish
    assert "needs 50 % (P2)" in english and "P4 default: 1,000,000 DKK" in english and "262,500,000" not in english
    with wh.connect() as conn:  # the grant follows the pool: 1,000,000 to København, the only municipality
        assert conn.execute("select sum(amount_dkk) from mart_tranche_status where as_of_month = '2017-09-01'").fetchone()[
            0
        ] == Decimal("1000000.00")
