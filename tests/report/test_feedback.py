"""Feedback to the municipalities (CONTRACT §2): one file per municipality with flagged markings, named by
marking_id, the rule in plain Danish, the month first flagged, what to do — and no CPR, no person_key."""

from __future__ import annotations

import csv
import re
import zipfile
from datetime import date

from fsm import months
from fsm.quality import check_markings
from fsm.report.feedback import write_feedback
from support.scenario import Scenario, cpr, person_key

MARCH = date(2018, 3, 1)


def _build(landing, monkeypatch, tmp_path):
    """101: g1 (group 1) starts 2017-09-01 but was registered 2017-10-15 → backdated (M3), first seen in the
    October snapshot. 147: p2 (FSM_PJF) ends 2018-02-01 before it starts 2018-02-10 → invalid period (M6), first
    in February. 151: clean markings → no file."""
    sc = Scenario(landing)
    sc.brutto(1, kommune=101).mark("g1", 1, "FSM_GR1", "2017-09-01", registered="2017-10-15", kommune=101)
    sc.brutto(2, kommune=147).mark("p2", 2, "FSM_PJF", "2018-02-10", end="2018-02-01", registered="2018-02-10", kommune=147)
    sc.brutto(3, kommune=151).mark("c3", 3, "FSM_GR1", "2017-09-01", kommune=151)
    monkeypatch.setenv("FSM_PROGRAMMES", "FSM1")
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path / "reports"))
    sc.run("2018-03")
    for m in months.month_range(date(2017, 8, 1), MARCH):
        check_markings(m)
    return tmp_path / "reports" / "2018-03" / "kommuner"


def _csv(path):
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def test_one_file_per_municipality_with_flags_in_plain_danish(landing, wh, monkeypatch, tmp_path):
    folder = _build(landing, monkeypatch, tmp_path)
    out = write_feedback(MARCH)
    assert out["kommuner"] == 2
    assert sorted(p.name for p in folder.iterdir()) == [
        "101_København.csv", "101_København.xlsx", "147_Frederiksberg.csv", "147_Frederiksberg.xlsx",
    ]  # fmt: skip
    (row,) = _csv(folder / "101_København.csv")
    assert row["Markerings-id"] == "g1" and row["Regel"] == "Tilbagedateret markering (M3)"
    assert row["Fundet første gang"] == "2017-10"  # the October snapshot first showed it (registered 2017-10-15)
    assert row["Det skal I gøre"].startswith("Markeringen er tilbagedateret")
    (row,) = _csv(folder / "147_Frederiksberg.csv")
    assert (row["Markerings-id"], row["Fundet første gang"]) == ("p2", "2018-02")
    assert row["Regel"] == "Slutdato før startdato (M6)" and row["Alvor"] == "fejl"


def test_the_files_hold_no_cpr_and_no_person_key(landing, wh, monkeypatch, tmp_path):
    folder = _build(landing, monkeypatch, tmp_path)
    write_feedback(MARCH)
    forbidden = [cpr(n) for n in (1, 2, 3)] + [cpr(n)[:6] + "-" + cpr(n)[6:] for n in (1, 2, 3)]
    forbidden += [person_key(n) for n in (1, 2, 3)]
    for path in folder.iterdir():
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                text = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        else:
            text = path.read_text(encoding="utf-8-sig")
        assert not [f for f in forbidden if f in text], path.name
        assert not re.search(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])", text), path.name  # nothing key-shaped
        assert not re.search(r"(?<!\d)\d{6}-?\d{4}(?!\d)", text), path.name  # nothing CPR-shaped


def test_the_status_sheet_gives_the_municipalitys_own_figures(landing, wh, monkeypatch, tmp_path):
    import openpyxl

    folder = _build(landing, monkeypatch, tmp_path)
    write_feedback(MARCH)
    wb = openpyxl.load_workbook(folder / "101_København.xlsx")
    assert wb.sheetnames == ["Markeringer", "Status"]
    status = {r[0]: r[1] for r in wb["Status"].iter_rows(min_row=4, values_only=True) if r[0]}
    # 101's one citizen is visited (group 1, counted from its registration day 2017-10-15: D1) → coverage 100 % (V3)
    assert status["Dækning (visiteret + udskudt / målgruppe, V3)"].startswith("100")
    assert {"Rate 1", "Rate 2", "Rate 3"} <= set(status)
    assert "udløst 2017-08" in status["Rate 1"]  # P1
