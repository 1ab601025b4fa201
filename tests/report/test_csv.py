"""tranche_report.csv and fsm2_result.csv as Danish Excel reads them."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

from report.support import AMOUNTS, EARNED_MARCH, GRANTED, MAR19


def test_csv_reads_as_danish_excel_reads_it(reports):
    raw = (reports["dir"] / "tranche_report.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel opens it as UTF-8
    text = raw.decode("utf-8-sig")
    assert "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert list(rows[0]) == ["Kommunekode", "Kommune", "Rate", "Rate_pct", "Tilskud_kr", "Beloeb_kr", "Udloest",
                             "Udloest_maaned", "Begrundelse", "Tilskudsgrundlag"]  # fmt: skip
    assert len(rows) == 9

    def money(s: str) -> Decimal:
        assert re.fullmatch(r"-?\d+,\d{2}", s), s  # decimal comma, no thousands separator
        return Decimal(s.replace(",", "."))

    got = {(int(r["Kommunekode"]), int(r["Rate"])): r for r in rows}
    for kode, tranche, grant, amount, earned, earned_month in reports["wh_rows"]:
        r = got[kode, tranche]
        assert money(r["Beloeb_kr"]) == amount and money(r["Tilskud_kr"]) == grant
        assert r["Udloest"] == ("ja" if earned else "nej")
        assert r["Udloest_maaned"] == (earned_month.strftime("%Y-%m") if earned_month else "")
    assert [money(got[101, t]["Beloeb_kr"]) for t in (1, 2, 3)] == list(AMOUNTS[101])
    assert sum(money(r["Beloeb_kr"]) for r in rows) == GRANTED
    assert sum(money(r["Beloeb_kr"]) for r in rows if r["Udloest"] == "ja") == EARNED_MARCH
    assert got[101, 1]["Kommune"] == "København"  # UTF-8 survives


def test_write_csv_keeps_its_dialect():
    from fsm.report import write_csv

    row = {"kommune_kode": 101, "kommune_navn": "Høje-Taastrup; Øst", "tranche": 2, "tranche_pct": Decimal("40.00"),
           "grant_dkk": Decimal("1234567.89"), "amount_dkk": Decimal("493827.16"), "earned": False, "earned_month": None,
           "basis": 'says "why"', "grant_source": "x"}  # fmt: skip
    data = write_csv([row])
    assert data.startswith("\ufeff".encode())
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert parsed[1] == ["101", "Høje-Taastrup; Øst", "2", "40,00", "1234567,89", "493827,16", "nej", "", 'says "why"', "x"]


# --- html ----------------------------------------------------------------------------------------


def test_fsm2_csv_reads_as_danish_excel_reads_it(fsm2_reports):
    raw = (fsm2_reports["dir"] / "fsm2_result.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert list(rows[0]) == ["Kommunekode", "Kommune", "Taerskel_pct", "Opfyldt", "Opfyldt_maaned", "Begrundelse",
                             "Indsatsgruppe", "Aktive", "Andel_pct"]  # fmt: skip
    assert len(rows) == 31 * 2  # one per municipality and threshold
    marts, req = fsm2_reports["result_rows"], fsm2_reports["req"]

    def dec(s: str) -> Decimal:
        assert re.fullmatch(r"\d+,\d{2}", s), s  # decimal comma, no thousands separator
        return Decimal(s.replace(",", "."))

    for r in rows:
        k, thr = int(r["Kommunekode"]), int(dec(r["Taerskel_pct"]))
        met, met_month, _basis = req[k, thr]
        assert r["Opfyldt"] == ("ja" if met else "nej")
        assert r["Opfyldt_maaned"] == (met_month.strftime("%Y-%m") if met_month else "")
        mart = marts[k, MAR19, "ALL"]
        assert (int(r["Indsatsgruppe"]), int(r["Aktive"])) == (mart[3], mart[4])
        assert (dec(r["Andel_pct"]) if r["Andel_pct"] else None) == mart[5]
    kbh = next(r for r in rows if r["Kommunekode"] == "101" and r["Taerskel_pct"] == "20,00")
    assert kbh["Kommune"] == "København" and kbh["Andel_pct"] == "22,22"
    assert kbh["Begrundelse"] == "resultatandel 30 % (3 af 10) i 2019-01 (≥ 20 %, F8)"
    # the FSM1 csv is unchanged by FSM2
    fsm1 = (fsm2_reports["dir"] / "tranche_report.csv").read_bytes().decode("utf-8-sig")
    assert fsm1.startswith("Kommunekode;Kommune;Rate;Rate_pct;") and fsm1.count("\r\n") == 4
