"""Settings and rule overrides are typed: a wrong value fails naming the variable and what it expects."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from fsm import config
from fsm.config import SettingsError, rules, settings
from fsm.warehouse import render_sql


def test_defaults_are_domain_md():
    r = rules()
    assert r.tranche_pcts == (Decimal("30"), Decimal("40"), Decimal("30"))  # P1–P3
    assert r.activity_threshold_pct == Decimal("40") and r.activity_months_running == 3  # P3
    assert r.coverage_required_pct == Decimal("100")  # P2
    assert r.fsm1_budget_dkk == Decimal("262500000")  # P4
    assert len(r.fsm2_participants) == 31 and {561, 563} <= set(r.fsm2_participants)  # F9: 30 participants, Esbjerg og Fanø
    assert r.overridden() == {}


def test_a_list_override_becomes_typed_values(monkeypatch):
    monkeypatch.setenv("FSM_RULE_FSM2_PARTICIPANTS", "101, 147")
    r = rules()
    assert r.fsm2_participants == (101, 147)
    # ints, so the SQL gets an int[] (strings broke the SQL before)
    assert render_sql("{{ fsm2_participants }}", r.sql_params()) == "array[101, 147]::int[]"
    monkeypatch.setenv("FSM_RULE_TRANCHE_PCTS", "20,40,40")
    assert rules().tranche_pcts == (Decimal("20"), Decimal("40"), Decimal("40"))


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("FSM_RULE_VISITED_STAY_IN_TARGET_GROUP", "flase", "valid boolean"),  # no longer silently False
        ("FSM_RULE_TRANCHE_PCTS", "30,40,20", "adding up to 90"),
        ("FSM_RULE_TRANCHE_PCTS", "50,50", "three tranche percentages"),
        ("FSM_RULE_FSM2_PARTICIPANTS", "101,abc", "valid integer"),
        ("FSM_RULE_FSM2_PARTICIPANTS", "101,999", "unknown municipality codes [999]"),
        ("FSM_RULE_COUNTED_OFFER_TYPES", "MENTOR,GOLF", "unknown offer types ['GOLF']"),
        ("FSM_RULE_ACTIVITY_THRESHOLD_PCT", "140", "less than or equal to 100"),
        ("FSM_RULE_PROJECT_START", "2017-13-01", "valid date"),
        ("FSM_RULE_DQ_SEVERITY", '{"backdated_marking": "fatal"}', "'error' or 'warning'"),
    ],
)
def test_a_wrong_rule_value_names_the_variable(monkeypatch, variable, value, says):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as err:
        rules()
    assert variable in str(err.value) and says in str(err.value)


def test_a_misspelt_rule_variable_is_refused(monkeypatch):
    monkeypatch.setenv("FSM_RULE_ACTIVTY_THRESHOLD_PCT", "45")
    with pytest.raises(SettingsError, match=r"unknown rule variable.*FSM_RULE_ACTIVTY_THRESHOLD_PCT"):
        rules()


def test_what_if_overrides_are_validated_and_named():
    r = rules({"activity_threshold_pct": "45", "tranche_pcts": [25, 50, 25]})
    assert r.activity_threshold_pct == Decimal("45") and r.tranche_pcts[1] == Decimal("50")
    assert r.overridden() == {"activity_threshold_pct": "45", "tranche_pcts": ["25", "50", "25"]}
    with pytest.raises(SettingsError, match="rule override 'activity_threshold_pct'"):
        rules({"activity_threshold_pct": "many"})
    with pytest.raises(SettingsError, match="rule override 'no_such_rule'"):
        rules({"no_such_rule": 1})


def test_settings_are_typed(monkeypatch, tmp_path):
    monkeypatch.setenv("FSM_PROGRAMMES", "FSM1")
    monkeypatch.setenv("FSM_REPORT_LANG", "EN")
    monkeypatch.setenv("FSM_LANDING", "")  # empty = unset: the default folder
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path))
    s = settings()
    assert s.programmes == ("FSM1",) and s.report_lang == "en"
    assert s.landing_root == str(config.DATA_DIR / "landing") and s.reports_folder == tmp_path
    for variable, value in [
        ("FSM_PROGRAMMES", "FSM3"),
        ("FSM_REPORT_LANG", "de"),
        ("FSM_MAX_FILE_ROWS", "-1"),
        ("FSM_WAIT_HOURS", "soon"),
    ]:
        monkeypatch.setenv(variable, value)
        with pytest.raises(SettingsError, match=variable):
            settings()
        monkeypatch.delenv(variable)


def test_production_refuses_the_development_key(monkeypatch):
    from fsm import cpr

    monkeypatch.setenv("FSM_ENV", "Production")
    monkeypatch.setenv("FSM_PSEUDONYM_KEY", config.DEVELOPMENT_PSEUDONYM_KEY)
    cpr.pseudonym_key.cache_clear()
    try:
        assert settings().production
        with pytest.raises(cpr.PseudonymKeyError, match="FSM_ENV=Production"):
            cpr.pseudonym_key()
    finally:
        cpr.pseudonym_key.cache_clear()


def test_active_programmes_follow_the_setting(monkeypatch):
    from fsm.transform import active_programmes

    assert active_programmes(date(2019, 6, 1)) == ["FSM1", "FSM2"]  # F9: both periods cover 2019
    monkeypatch.setenv("FSM_PROGRAMMES", "FSM2")
    assert active_programmes(date(2019, 6, 1)) == ["FSM2"]
    assert active_programmes(date(2018, 6, 1)) == []
