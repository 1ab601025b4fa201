"""The catalogue and the text: every message in Danish and English, numbers through Babel, basis sentences from facts."""

from __future__ import annotations

import re
import string
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from fsm.config import Rules
from fsm.report.basis import BASIS_CODES, GRANT_SOURCE_CODES, basis_text, grant_source_text
from fsm.report.catalogue import LANGS, MESSAGES
from fsm.report.rules_in_force import rules_in_force
from fsm.report.text import Text

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "plugins" / "fsm" / "report"
DA, EN = Text("da"), Text("en")


def _fields(template: str) -> list[tuple[str, str]]:
    return sorted((name, spec or "") for _, name, spec, _ in string.Formatter().parse(template) if name is not None)


def test_every_message_is_in_danish_and_english_with_the_same_placeholders():
    assert LANGS == ("da", "en")
    for key, message in MESSAGES.items():
        assert set(message) == set(LANGS), key
        assert all(isinstance(message[lang], str) and message[lang].strip() for lang in LANGS), key
        assert _fields(message["da"]) == _fields(message["en"]), key


def test_a_missing_translation_fails_instead_of_falling_back(monkeypatch):
    monkeypatch.setitem(MESSAGES, "title", {"en": "Flere skal med – tranche status and payments"})
    assert EN("title")
    with pytest.raises(KeyError):
        DA("title")
    with pytest.raises(KeyError):
        basis_text("P9_something_new", {}, DA)  # an unknown code is an error, never shown as it came
    with pytest.raises(KeyError):
        grant_source_text("P4_new_source", {}, EN)


def test_every_code_the_marts_write_has_a_message_in_both_languages():
    sql = {
        name: (ROOT / "include" / "sql" / "marts" / f"{name}.sql").read_text(encoding="utf-8")
        for name in ("mart_tranche_status", "mart_fsm2_requirement", "mart_fsm2_payment_status")
    }
    written = set(re.findall(r"'([PF]\d+_[a-z_0-9]+)'", "".join(sql.values())))
    assert written == set(BASIS_CODES) | set(GRANT_SOURCE_CODES)
    for code in BASIS_CODES:
        assert f"basis.{code}" in MESSAGES
    for code in GRANT_SOURCE_CODES:
        assert f"grant.{code}" in MESSAGES
    both = "".join(sql.values())
    assert "262" not in both and "100 %" not in both  # P4's pool and P2's coverage are rules, not constants
    f10_code = re.sub(r"--.*", "", sql["mart_fsm2_payment_status"])  # F10's pool, parts and thresholds too
    assert not re.search(r"\b(148\d*|50|40|10|15|20)\b", f10_code)
    assert "to_char(" not in both and "' %" not in both and "trim_scale(" not in both  # no sentence is built in SQL


def test_no_regular_expression_and_no_swapped_separators_in_the_report():
    for path in PACKAGE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import re\b|from re import)", text, re.M), path.name
        assert "maketrans" not in text and '.replace(".", ",")' not in text, path.name


def test_numbers_money_and_months_through_babel():
    assert (DA.money(Decimal("1071741.6")), EN.money(Decimal("1071741.6"))) == ("1.071.741,60", "1,071,741.60")
    assert (DA.month_name(date(2019, 12, 1)), EN.month_name(date(2019, 12, 1))) == ("december 2019", "December 2019")
    assert (DA.count(24000), EN.count(24000)) == ("24.000", "24,000")
    assert (DA.number(Decimal("33.33")), EN.number(Decimal("33.33")), DA.number(Decimal("40.00"))) == ("33,33", "33.33", "40")
    assert (DA.number(None), EN.number(None)) == ("i.t.", "n/a")
    assert (DA.amount(Decimal("262500000")), EN.amount(262500000), DA.amount(Decimal("0.5"))) == (
        "262.500.000",
        "262,500,000",
        "0,50",
    )
    assert (DA.pct(Decimal("30.00"), 0), EN.pct(Decimal("66.666"))) == ("30\u00a0%", "66.67\u00a0%")


def test_basis_and_numbers_in_danish():
    short = {
        "coverage_pct": Decimal("66.67"),
        "accounted_n": 24000,
        "target_n": 36000,
        "month": "2018-03-01",
        "required_pct": 100,
    }
    assert basis_text("P2_coverage_short", short, DA) == "dækning 66,67 % (24.000 af 36.000) i 2018-03; kræver 100 % (P2)"
    assert basis_text("P1_paid_at_start", {"month": "2017-08-01"}, DA) == "udbetales ved projektstart (P1): 2017-08"
    window = {"shares": [20, None, 40], "months": ["2017-12-01", "2018-01-01", "2018-02-01"], "threshold_pct": 40,
              "months_running": 3, "months_met": 1}  # fmt: skip
    assert (
        basis_text("P3_activity_short", window, DA)
        == "aktivitetsandel 20 %, i.t., 40 % i 2017-12, 2018-01, 2018-02; kræver 40 % 3 måneder i træk (1 af 3 opfyldt; P3)"
    )
    assert grant_source_text("P4_default_split", {"pool_dkk": 262500000}, DA) == (
        "P4 standard: 262.500.000 kr. fordelt efter målgruppen ved projektstart (største rest)"
    )
    t = Text("da")
    assert (t.money(Decimal("1234567.8")), t.count(24000), t.pct(Decimal("66.666"))) == ("1.234.567,80", "24.000", "66,67\u00a0%")


def test_fsm2_basis_in_danish():
    met = {"share_pct": Decimal("12.5"), "active_n": 1, "indsatsgruppe_n": 8, "month": "2019-02-01", "threshold_pct": 15}
    assert basis_text("F8_met", met, DA) == "resultatandel 12,5 % (1 af 8) i 2019-02 (≥ 15 %, F8)"
    best = {"share_pct": None, "month": "2019-01-01", "threshold_pct": Decimal("20.00")}
    assert basis_text("F8_not_met", best, DA) == "bedste resultatandel i.t. i 2019-01; kræver 20 % i én måned (F8)"
    best = {"share_pct": Decimal("14.29"), "month": "2019-02-01", "threshold_pct": 15}
    assert basis_text("F8_not_met", best, DA) == "bedste resultatandel 14,29 % i 2019-02; kræver 15 % i én måned (F8)"


# The warehouse's English sentences, exactly as the mart SQL wrote them before the facts (issue 13):
# '1,234' thousands in P2's counts, FSM2's counts ungrouped, trim_scale'd percentages, YYYY-MM months, 'n/a'.
ENGLISH = [
    ("P1_paid_at_start", {"month": "2017-08-01"}, "paid at project start (P1): 2017-08"),
    (
        "P2_coverage_met",
        {"coverage_pct": Decimal("100.00"), "accounted_n": 5, "target_n": 5, "month": "2017-09-01", "required_pct": 100},
        "coverage 100 % (5 of 5) in 2017-09 (P2)",
    ),
    (
        "P2_coverage_met",
        {
            "coverage_pct": Decimal("61.73"),
            "accounted_n": 1234567,
            "target_n": 2000000,
            "month": "2019-11-01",
            "required_pct": 60,
        },
        "coverage 61.73 % (1,234,567 of 2,000,000) in 2019-11 (P2)",
    ),
    (
        "P2_no_snapshot",
        {"month": "2018-03-01", "required_pct": 100},
        "no markings snapshot for 2018-03 yet; needs coverage 100 % (P2)",
    ),
    (
        "P2_coverage_short",
        {"coverage_pct": Decimal("50.00"), "accounted_n": 3, "target_n": 6, "month": "2018-03-01", "required_pct": 100},
        "coverage 50 % (3 of 6) in 2018-03; needs 100 % (P2)",
    ),
    (
        "P2_coverage_short",
        {"coverage_pct": None, "accounted_n": 0, "target_n": 0, "month": "2018-03-01", "required_pct": 100},
        "coverage n/a % (0 of 0) in 2018-03; needs 100 % (P2)",
    ),
    (
        "P3_activity_met",
        {
            "shares": [Decimal("40.00")] * 3,
            "months": ["2018-01-01", "2018-02-01", "2018-03-01"],
            "threshold_pct": 40,
            "months_running": 3,
        },
        "activity share ≥ 40 % in 2018-01, 2018-02, 2018-03 (40 %, 40 %, 40 %; P3)",
    ),
    (
        "P3_activity_short",
        {"shares": None, "months": ["2017-08-01"], "threshold_pct": 40, "months_running": 3, "months_met": 0},
        "activity share n/a in 2017-08; needs 40 % 3 months running (0 of 3 met; P3)",
    ),
    (
        "P3_activity_short",
        {
            "shares": [None, Decimal("0.00")],
            "months": ["2017-08-01", "2017-09-01"],
            "threshold_pct": 40,
            "months_running": 3,
            "months_met": 0,
        },
        "activity share n/a, 0 % in 2017-08, 2017-09; needs 40 % 3 months running (0 of 3 met; P3)",
    ),
    (
        "F8_met",
        {"share_pct": Decimal("21.73"), "active_n": 1234, "indsatsgruppe_n": 5678, "month": "2020-02-01", "threshold_pct": 20},
        "result share 21.73 % (1234 of 5678) in 2020-02 (≥ 20 %, F8)",
    ),
    (
        "F8_not_met",
        {"share_pct": None, "month": "2019-01-01", "threshold_pct": 20},
        "best result share n/a in 2019-01; needs 20 % in one month (F8)",
    ),
    (
        "F8_not_met",
        {"share_pct": Decimal("12.50"), "month": "2019-01-01", "threshold_pct": Decimal("15")},
        "best result share 12.5 % in 2019-01; needs 15 % in one month (F8)",
    ),
]


@pytest.mark.parametrize(("code", "facts", "sentence"), ENGLISH, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(ENGLISH)])
def test_english_basis_is_the_sentence_the_sql_wrote(code, facts, sentence):
    assert basis_text(code, facts, EN) == sentence
    assert basis_text(code, facts, DA) != sentence


def test_english_grant_sources_are_the_sentences_the_sql_wrote():
    assert grant_source_text("P4_allocation_file", {}, EN) == "allocation file (reference/allocations)"
    assert grant_source_text("P4_allocation_missing", {}, EN) == "allocation file: municipality missing, grant 0"
    assert grant_source_text("P4_default_split", {"pool_dkk": 262500000}, EN) == (
        "P4 default: 262,500,000 DKK split by target group at start (largest remainder)"
    )


def test_the_rules_in_force_come_from_the_rules_values_in_the_reports_language():
    da = {(rid, s): v for rid, s, v in rules_in_force(Rules(), DA)}
    en = {(rid, s): v for rid, s, v in rules_in_force(Rules(), EN)}
    assert da[("P3", "Krævet aktivitetsandel for rate 3 (%)")] == "40"
    assert da[("P4", "Pulje fordelt efter målgruppen ved start, når der ikke er en tildelingsfil (kr.)")] == "262.500.000"
    assert en[("P4", "Pool split by target group at start when no allocation file (DKK)")] == "262,500,000"
    assert (
        da[("P1-P3", "Fordeling af rater (%)")] == "30/40/30" and da[("T3", DA("setting.visited_stay_in_target_group"))] == "ja"
    )
    assert da[("F1/F7", DA("setting.fsm2_benefits"))] == "KONTANTHJAELP, OVERGANGSYDELSE; INTEGRATIONSYDELSE før 2020-01"
    assert not {s for _, s in da} & {s for _, s in en}  # no English setting in the Danish table
    changed = Rules(fsm1_budget_dkk=Decimal("100000000.50"), coverage_required_pct=Decimal("87.5"))
    da = {s: v for _, s, v in rules_in_force(changed, DA)}
    assert da[DA("setting.fsm1_budget_dkk")] == "100.000.000,50" and da[DA("setting.coverage_required_pct")] == "87,5"
