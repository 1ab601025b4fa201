"""Shared by the report tests: the hand-worked scenarios, the expected figures, and readers for the files."""

from __future__ import annotations

import contextlib
import re
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from support.browser import CHROMIUM
from support.scenario import Scenario

MARCH, FEB = date(2018, 3, 1), date(2018, 2, 1)
PERSON_KEY_RE = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")
CPR_RE = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")
PEOPLE = range(1, 30)

# Hand-computed (P4): tranches 30/40/30 to the øre, the rounding difference on tranche 3.
GRANTS = {101: Decimal("333333.33"), 147: Decimal("1000000.00"), 151: Decimal("250000.01")}
AMOUNTS = {
    101: (Decimal("100000.00"), Decimal("133333.33"), Decimal("100000.00")),
    147: (Decimal("300000.00"), Decimal("400000.00"), Decimal("300000.00")),
    151: (Decimal("75000.00"), Decimal("100000.00"), Decimal("75000.01")),
}
DUE_MARCH = {(101, 3): Decimal("100000.00"), (151, 2): Decimal("100000.00")}
EARNED_MARCH = Decimal("808333.33")  # 101: all three; 147: tranche 1; 151: tranches 1 and 2
GRANTED = Decimal("1583333.34")
OUTSTANDING = Decimal("775000.01")


def build(sc: Scenario) -> None:
    # København (101): 5 citizens in group 1 from 2017-09 (P2 in 2017-09); 40 % active in Jan, Feb, Mar -> tranche 3 in 2018-03.
    for p in range(1, 6):
        sc.brutto(p, kommune=101).mark(f"g{p}", p, "FSM_GR1", "2017-09-01", kommune=101)
    for month, k in {"2017-10": 2, "2017-11": 2, "2017-12": 1, "2018-01": 2, "2018-02": 2, "2018-03": 2}.items():
        for p in range(1, k + 1):
            sc.hours(month, p, "7,5")
    # Frederiksberg (147): 6 citizens, 3 visited -> 50 %; a backdated marking registered in March (new DQ finding)
    # and an overlapping group pair seen in both months (not new).
    for p in range(6, 12):
        sc.brutto(p, kommune=147)
    sc.mark("f6", 6, "FSM_GR1", "2017-10-01", kommune=147)
    sc.mark("f7", 7, "FSM_GR1", "2017-09-01", kommune=147).mark("f7b", 7, "FSM_GR2", "2017-12-01", kommune=147)
    sc.mark("f8", 8, "FSM_GR1", "2018-02-01", registered="2018-03-05", kommune=147)
    # Ballerup (151): 5 citizens, 4 visited in 2017-10, the fifth in March 2018 -> tranche 2 earned 2018-03.
    for p in range(12, 17):
        sc.brutto(p, kommune=151)
    for p in range(12, 16):
        sc.mark(f"b{p}", p, "FSM_GR1" if p < 15 else "FSM_GR3", "2017-10-02", kommune=151)
    sc.mark("b16", 16, "FSM_UDSKUDT", "2018-03-10", kommune=151)
    sc.grant(101, "333333,33").grant(147, "1000000").grant(151, "250000,01")


def sheet_table(ws):
    """(header row number, {header: column letter}, data rows as dicts, totals row number)."""
    header_row = None
    for row in ws.iter_rows(min_row=1, max_row=15):
        if row[0].value in ("Kommunekode", "Rate", "Regel-id", "Feed", "Municipality code", "Tranche", "Program", "Programme"):
            header_row = row[0].row
            break
    assert header_row, f"no header row in {ws.title}"
    assert ws.freeze_panes is not None and int(re.sub(r"\D", "", ws.freeze_panes)) == header_row + 1
    assert ws.auto_filter.ref and ws.auto_filter.ref.split(":")[0].endswith(str(header_row))
    headers = {c.value: c.column_letter for c in ws[header_row] if c.value is not None}
    rows, total_row = [], None
    for r in range(header_row + 1, ws.max_row + 1):
        values = {h: ws[f"{col}{r}"] for h, col in headers.items()}
        first = ws[f"A{r}"].value
        second = ws[f"B{r}"].value
        if first in ("I alt", "Total") or second in ("I alt", "Hele landet", "Total", "Whole country"):
            total_row = r
            break
        rows.append(values)
    return header_row, headers, rows, total_row


def dec(cell) -> Decimal:
    return Decimal(str(cell.value)).quantize(Decimal("0.01"))


def report_texts(out: Path) -> dict[str, str]:
    """Every report file as text: the xlsx unzipped (numeric <v> values dropped), the html without its data: URIs,
    the PDF's extracted text."""
    texts = {}
    for f in out.iterdir():
        if f.suffix == ".xlsx":
            with zipfile.ZipFile(f) as z:
                for name in z.namelist():
                    if name.endswith((".xml", ".rels")):
                        xml = z.read(name).decode("utf-8")
                        texts[f"{f.name}:{name}"] = re.sub(r"<v>[^<]*</v>", "", xml) if "worksheets/" in name else xml
        elif f.suffix == ".pdf":  # the PDF's text as a reader sees it (its fonts are subset: not in the bytes)
            from pypdf import PdfReader

            texts[f.name] = "\n".join(p.extract_text() for p in PdfReader(f).pages)
        elif f.suffix == ".html":
            texts[f.name] = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", "", f.read_text(encoding="utf-8"))
        else:
            texts[f.name] = f.read_bytes().decode("utf-8-sig")
    return texts


def fill_country(conn, month: date) -> None:
    """Marts for 88 municipalities as of `month` (and the month before), filled directly: no pipeline needed."""
    from fsm.config import kommuner

    codes = sorted(kommuner())[:88]
    prev = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    for m in (prev, month):
        conn.execute(
            """
            insert into mart_visitation_progress
            select %(m)s, 'FSM1', k, 'K' || k, 100 + k, 60 + k %% 41, 40 + k %% 30, 10 + k %% 7, k %% 5, k %% 4,
                   (100 + k) - (60 + k %% 41) - (k %% 4), k %% 3,
                   round(100.0 * (60 + k %% 41 + k %% 4) / (100 + k), 2), false, 30 + k %% 9, %(m)s + interval '1 month' - interval '1 day'
            from unnest(%(codes)s::int[]) as k
            """,
            {"m": m, "codes": codes},
        )
        conn.execute(
            """
            insert into mart_activity_share
            select %(m)s, 'FSM1', k, a::date, 200 + k %% 50, (200 + k %% 50) * (10 + (k + extract(month from a)::int * 3) %% 45) / 100,
                   round(100.0 * ((200 + k %% 50) * (10 + (k + extract(month from a)::int * 3) %% 45) / 100) / (200 + k %% 50), 2),
                   (10 + (k + extract(month from a)::int * 3) %% 45) >= 40
            from unnest(%(codes)s::int[]) as k, generate_series(date '2017-08-01', %(m)s::date, interval '1 month') as a
            """,
            {"m": m, "codes": codes},
        )
        conn.execute(
            """
            insert into mart_tranche_status
            select %(m)s, 'FSM1', k, t, 'K' || k, case t when 2 then 40 else 30 end, 2983000 + k * 1000.37,
                   case t when 1 then round((2983000 + k * 1000.37) * 0.3, 2) when 2 then round((2983000 + k * 1000.37) * 0.4, 2)
                        else (2983000 + k * 1000.37) - round((2983000 + k * 1000.37) * 0.3, 2) - round((2983000 + k * 1000.37) * 0.4, 2) end,
                   t = 1 or (t = 2 and k %% 3 = 0) or (t = 3 and k %% 5 = 0 and %(m)s = %(last)s),
                   case when t = 1 then date '2017-08-01' when t = 2 and k %% 3 = 0 then date '2018-06-01'
                        when t = 3 and k %% 5 = 0 and %(m)s = %(last)s then %(m)s end,
                   'basis for ' || k || ' tranche ' || t, 'allocation file (reference/allocations)'
            from unnest(%(codes)s::int[]) as k, generate_series(1, 3) as t
            """,
            {"m": m, "codes": codes, "last": month},
        )
        conn.execute(
            """
            insert into dq_marking_violations (as_of_month, rule_id, marking_id, kommune_kode, person_key, severity, detail)
            select %(m)s, (array['backdated_marking', 'duplicate_marking', 'future_marking'])[1 + i %% 3], 'm' || i,
                   (%(codes)s::int[])[1 + i %% 88], encode(sha256(('p' || i)::bytea), 'hex'), 'error', 'x'
            from generate_series(1, case when %(m)s = %(last)s then 2000 else 1800 end) as i
            """,
            {"m": m, "codes": codes, "last": month},
        )
    conn.execute(
        """
        insert into ingest_file (feed, file_name, uri, sha256, period, size_bytes, rows_read, rows_loaded, rows_rejected)
        select f, f || '_' || to_char(p, 'YYYY-MM') || '.csv', 'x', md5(f || p), p, 1, 1000, 990, 10
        from unnest(array['ydelse', 'tilbud', 'timer']) as f, generate_series(date '2017-08-01', %(m)s::date, interval '1 month') as p
        """,
        {"m": month},
    )


@contextlib.contextmanager
def opened_in_chromium(html: Path):
    """The report as a reader opens it: headless Chromium, file:// URL; yields (page, every URL requested)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            requests: list[str] = []
            page.on("request", lambda req: requests.append(req.url))
            page.goto(html.as_uri(), wait_until="load")
            yield page, requests
        finally:
            browser.close()


needs_chromium = pytest.mark.browser  # tests/conftest: skipped without Chromium, failed under CI=true


JAN19, FEB19, MAR19 = date(2019, 1, 1), date(2019, 2, 1), date(2019, 3, 1)
# Expected by hand (F7, F8) as of 2019-03, origin ALL: (target, group 2, exempt, indsatsgruppe, active)
FSM2_EXPECTED = {
    (101, JAN19): (10, 0, 0, 10, 3),  # 3 of 10 = 30 %: both requirements met in January
    (101, FEB19): (10, 1, 1, 8, 1),  # citizen 1 in group 2 from 10 Feb, citizen 2 exempt in February: 1 of 8 = 12.5 %
    (101, MAR19): (10, 1, 0, 9, 2),  # the exemption ended 1 March; SU education + hours: 2 of 9 = 22.22 %
    (147, JAN19): (20, 0, 0, 20, 2),  # 10 %
    (147, FEB19): (20, 0, 0, 20, 3),  # 15 %: the 15 % requirement met in February
    (147, MAR19): (20, 0, 0, 20, 4),  # 20 %: the 20 % requirement met in March (newly met this month)
}
FSM2_PEOPLE = range(1, 60)


def build_fsm2(sc: Scenario) -> None:
    """København (101): 10 citizens; Frederiksberg (147): 20 citizens, as in test_F8 of test_fsm2_rules."""
    origin_101 = {1: "DANSK", 2: "DANSK", 3: "DANSK", 4: "DANSK", 5: "DANSK", 6: "IKKE_VESTLIG", 7: "IKKE_VESTLIG",
                  8: "IKKE_VESTLIG", 9: "VESTLIG", 10: "VESTLIG"}  # fmt: skip
    for p, origin in origin_101.items():
        sc.benefits(p, "2019-W01", "2019-W13", kommune=101, herkomst=origin)
    sc.mark("gr2", 1, "FSM2_GR2", "2019-02-10", kommune=101)
    sc.mark("fri", 2, "FRITAGELSE", "2019-02-01", end="2019-03-01", kommune=101, reason="BARSEL")
    for p in (3, 4, 5):
        sc.hours("2019-01", p, "7,5")
    sc.hours("2019-02", 3, "12")
    sc.education("2019-03", 6, su_eligible=1)
    sc.hours("2019-03", 7, "3,5")
    sc.hours("2019-03", 8, "10", subsidised=1)  # løntilskud: not ordinary hours (F6)
    for p in range(20, 40):
        sc.benefits(
            p, "2019-W01", "2019-W13", kommune=147, herkomst="DANSK" if p < 30 else "VESTLIG" if p < 35 else "IKKE_VESTLIG"
        )
    for month, k in (("2019-01", 2), ("2019-02", 3), ("2019-03", 4)):
        for p in range(20, 20 + k):
            sc.hours(month, p, "7,5")


FSM2_SHEETS = ["FSM2 resultat", "FSM2 andel", "FSM2 aktive", "FSM2 indsatsgruppe", "FSM2 herkomst"]
FSM2_PAY_SHEETS = ["FSM2 udbetaling", "FSM2 forfald"]  # F10: when the month has mart_fsm2_payment_status rows


def conditional_bands(ws) -> dict[str, list[tuple[float, str]]]:
    out: dict[str, list[tuple[float, str]]] = {}
    for cf in ws.conditional_formatting:
        out[str(cf.sqref)] = [
            (float(r.formula[0]), r.dxf.fill.bgColor.rgb) for r in cf.rules if r.operator == "greaterThanOrEqual"
        ]
    return out


def fill_fsm2(conn, month: date) -> None:
    """mart_fsm2_* for the 31 FSM2 participants as of `month` and the month before, every month since 2019-01."""
    from fsm.config import rules

    codes = list(rules().fsm2_participants)
    prev = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    for m in (prev, month):
        conn.execute(
            """
            insert into mart_fsm2_result
            select %(m)s, k, a::date, h, t, g, e, t - g - e, act,
                   case when t - g - e > 0 then round(100.0 * act / (t - g - e), 2) end
            from unnest(%(codes)s::int[]) as k,
                 generate_series(date '2019-01-01', %(m)s::date, interval '1 month') as a,
                 unnest(array['ALL', 'DANSK', 'VESTLIG', 'IKKE_VESTLIG']) as h,
                 lateral (select case h when 'ALL' then 400 + k when 'DANSK' then 250 + k when 'VESTLIG' then 30 else 120 end as t) as tt,
                 lateral (select t / 10 as g, t / 25 as e) as ge,
                 lateral (select (t - g - e) * (5 + (k + extract(month from a)::int * 2) %% 20) / 100 as act) as aa
            """,
            {"m": m, "codes": codes},
        )
        conn.execute(
            """
            insert into mart_fsm2_requirement
            select %(m)s, k, thr, k %% 3 <> 0, case when k %% 3 <> 0 then date '2019-06-01' end,
                   case when k %% 3 <> 0 then 'result share ' || thr || ' %% (60 of 300) in 2019-06 (≥ ' || thr || ' %%, F8)'
                        else 'best result share 12.5 %% in 2019-04; needs ' || thr || ' %% in one month (F8)' end
            from unnest(%(codes)s::int[]) as k, unnest(array[15, 20]) as thr
            """,
            {"m": m, "codes": codes},
        )


def small_report(visitation_counts, activity=((10, 5),), basis=None):
    """A Report made in memory: one municipality, one visitation row, tranche 2 with `basis` = (code, facts)."""
    from datetime import datetime

    from fsm.config import Rules
    from fsm.report import Report

    # 'coverage 100 % (20 of 20) in 2017-09 (P2)'
    code, args = basis or ("P2_coverage_met", {"coverage_pct": 100, "accounted_n": 20, "target_n": 20, "month": "2017-09-01"})
    vis = [dict.fromkeys(
        ("target_n", "visited_n", "group1_n", "group2_n", "group3_n", "deferred_n", "unvisited_n", "left_unvisited_n", "pjf_n"), 0)]  # fmt: skip
    vis[0].update(
        visitation_counts, kommune_kode=101, kommune_navn="København", coverage_pct=None, coverage_met=False, snapshot_date=None
    )
    tranche = {"kommune_kode": 101, "kommune_navn": "København", "tranche": 2, "tranche_pct": Decimal(40), "grant_dkk": Decimal(1),
               "amount_dkk": Decimal(1), "earned": True, "earned_month": date(2017, 9, 1), "basis": "", "basis_code": code,
               "basis_args": args, "grant_source": "x"}  # fmt: skip
    act = [{"kommune_kode": 101, "activity_month": date(2017, 9, 1), "cohort_n": c, "active_n": a, "share_pct": None,
            "meets_threshold": False} for c, a in activity]  # fmt: skip
    return Report(month=date(2017, 9, 1), prev_month=date(2017, 8, 1), lang="da", rules=Rules(), generated_at=datetime(2020, 1, 1),
                  tranches=[tranche], prev_tranches=[], visitation=vis, activity=act, dq_counts=[], dq_new=[], dq_resolved={},
                  dq_history=[], deliveries=[], run_log=[], names={101: "København"})  # fmt: skip
