"""What-if runs (CONTRACT §2): month M under rule overrides, written beside the official marts (schema
what_if, keyed by the name), never into them; a comparison report of what moves."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

import pytest

from fsm.config import SettingsError
from fsm.transform import what_if
from support.db import MARTS, dump
from support.scenario import Scenario

MARCH = date(2018, 3, 1)


@pytest.fixture
def march(landing, wh, monkeypatch, tmp_path):
    """København (101): 5 citizens in group 1 from 2017-09 (coverage 100 % in 2017-09, P2); 2 of 5 = 40 % active in
    Oct, Nov, Jan, Feb, Mar, 1 of 5 = 20 % in Dec (A2) → P3 first met for Jan–Mar: tranche 3 earned 2018-03.
    Grant 333,333.33 (allocation file): tranches 100,000.00 / 133,333.33 / 100,000.00 (P4: rounding on tranche 3)."""
    sc = Scenario(landing)
    for p in range(1, 6):
        sc.brutto(p).mark(f"g{p}", p, "FSM_GR1", "2017-09-01")
    for month, k in {"2017-10": 2, "2017-11": 2, "2017-12": 1, "2018-01": 2, "2018-02": 2, "2018-03": 2}.items():
        for p in range(1, k + 1):
            sc.hours(month, p, "7,5")
    sc.grant(101, "333333,33")
    monkeypatch.setenv("FSM_PROGRAMMES", "FSM1")
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path / "reports"))
    sc.run("2018-03")
    return tmp_path / "reports"


def _tranches(wh, table: str, where: str = "true"):
    with wh.connect() as conn:
        return conn.execute(
            f"select tranche, earned_month, amount_dkk from {table} where as_of_month = %s and kommune_kode = 101 and {where}"
            " order by tranche",
            (MARCH,),
        ).fetchall()


def test_a_stricter_threshold_moves_tranche_3_beside_the_official_rows(march, wh):
    official = [(1, date(2017, 8, 1), Decimal("100000.00")), (2, date(2017, 9, 1), Decimal("133333.33")),
                (3, MARCH, Decimal("100000.00"))]  # fmt: skip
    assert _tranches(wh, "mart_tranche_status") == official
    with wh.connect() as conn:
        before = {t: rows for t, rows in dump(conn).items() if t in MARTS}

    out = what_if.run(MARCH, "strict-45", {"activity_threshold_pct": 45})  # P3 at 45 %: 40 % no longer meets it

    with wh.connect() as conn:
        after = {t: rows for t, rows in dump(conn).items() if t in MARTS}
        log = conn.execute("select what_if, rules ->> 'activity_threshold_pct' from run_log where what_if is not null").fetchall()
    assert after == before  # the official marts, byte for byte
    assert _tranches(wh, "what_if.mart_tranche_status", "what_if = 'strict-45'") == [
        *official[:2],
        (3, None, Decimal("100000.00")),
    ]
    assert log == [("strict-45", "45")]

    folder = march / "2018-03" / "what_if" / "strict-45"
    assert out["comparison"]["dir"] == str(folder) and out["comparison"]["changed"] == 1
    with (folder / "comparison.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    (moved,) = [r for r in rows if r["Aendret"] in ("ja", "Ja", "true", "True", "1")]
    assert (moved["Kommunekode"], moved["Del"], moved["Hvis_maaned"], moved["Hvis_beloeb_kr"]) == ("101", "3", "", "0,00")
    assert moved["Officiel_maaned"].startswith("2018-03") and moved["Officiel_beloeb_kr"] == "100000,00"
    html = (folder / "comparison.html").read_text(encoding="utf-8")
    # totals that change: earned to date 333.333,33 kr. officially, 233.333,33 kr. in the what-if (Babel, Danish)
    assert "333.333,33" in html and "233.333,33" in html and "activity_threshold_pct" in html


def test_a_second_what_if_run_replaces_only_its_own_rows(march, wh):
    what_if.run(MARCH, "strict-45", {"activity_threshold_pct": 45})
    what_if.run(MARCH, "lenient-20", {"activity_threshold_pct": 20})
    what_if.run(MARCH, "strict-45", {"activity_threshold_pct": 45})  # a rerun: same rows, not twice
    with wh.connect() as conn:
        counts = dict(conn.execute("select what_if, count(*) from what_if.mart_tranche_status group by 1").fetchall())
    assert counts == {"strict-45": counts["lenient-20"], "lenient-20": counts["strict-45"]} and counts["strict-45"] > 0
    # at 20 % the December month (20 %) also counts: Oct–Dec meet it, tranche 3 earned 2017-12 (P3)
    assert _tranches(wh, "what_if.mart_tranche_status", "what_if = 'lenient-20'")[2][1] == date(2017, 12, 1)


@pytest.mark.parametrize(
    ("name", "overrides", "says"),
    [
        ("Strict 45", {"activity_threshold_pct": 45}, "what-if name"),
        ("strict", {}, "non-empty JSON object"),
        ("strict", {"activity_threshold_pct": "lots"}, "rule override 'activity_threshold_pct'"),
        ("strict", {"tranche_pcts": [50, 50, 50]}, "adding up to 150"),
    ],
)
def test_a_bad_name_or_override_is_refused_naming_it(name, overrides, says):
    with pytest.raises(SettingsError, match=says):
        what_if.validated(name, overrides)


@pytest.mark.slow
def test_a_what_if_run_from_the_trigger_form_through_airflow(march, wh):
    """`make what-if` / the trigger form: conf what_if_name + what_if_rules; the official marts stay as they were."""
    from fsm_dev.run import RunFailed, load_dag, run_month

    dag = load_dag()
    run_month(dag, "2018-03")  # the official month first (ingest is idempotent: the files are loaded already)
    with wh.connect() as conn:
        before = {t: rows for t, rows in dump(conn).items() if t in MARTS}
    run_month(dag, "2018-03", what_if={"name": "form-45", "rules": {"activity_threshold_pct": 45}})
    with wh.connect() as conn:
        after = {t: rows for t, rows in dump(conn).items() if t in MARTS}
    assert after == before
    assert _tranches(wh, "what_if.mart_tranche_status", "what_if = 'form-45'")[2][1] is None
    assert (march / "2018-03" / "what_if" / "form-45" / "comparison.html").is_file()
    with pytest.raises(RunFailed, match=r"transform\.build_marts"):  # a misspelt rule fails the run at once
        run_month(dag, "2018-03", what_if={"name": "typo", "rules": {"activity_treshold_pct": 45}})
