"""A3 (the education option, off by default) on hand-made rows; expected numbers worked out by hand from DOMAIN.md."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from support.scenario import Scenario


def share(wh, as_of, activity_month, kommune=101):
    with wh.connect() as conn:
        return conn.execute(
            "select cohort_n, active_n, share_pct from mart_activity_share"
            " where as_of_month = %s and activity_month = %s and kommune_kode = %s and programme = 'FSM1'",
            (date.fromisoformat(as_of + "-01"), date.fromisoformat(activity_month + "-01"), kommune),
        ).fetchone()


@pytest.mark.parametrize(("option", "expected"), [(None, (3, 1, Decimal("33.33"))), ("true", (3, 2, Decimal("66.67")))])
def test_A3_a_member_active_only_by_su_education_counts_only_with_the_option(wh, tmp_path, monkeypatch, option, expected):
    """Three group-1 citizens in København from 2017-09 (C2, C3). In 2017-10: citizen 2 in virksomhedspraktik
    (A1), citizen 1 only in SU-eligible education, citizen 3 only in education without SU. Off (the default,
    following the seed documents): 1 of 3 active = 33.33 %. On (A3): citizen 1 too, 2 of 3 = 66.67 %;
    citizen 3's education never counts (only SU-eligible education, A3)."""
    if option is not None:
        monkeypatch.setenv("FSM_RULE_EDUCATION_COUNTS_AS_ACTIVITY", option)
    sc = Scenario(tmp_path / "landing")
    for p in (1, 2, 3):
        sc.brutto(p).mark(f"g{p}", p, "FSM_GR1", "2017-09-01")
    sc.offer("2017-10", "t2", 2, "VIRKSOMHEDSPRAKTIK", "2017-10-02", "2017-10-31")
    sc.education("2017-10", 1, su_eligible=1)
    sc.education("2017-10", 3, su_eligible=0)
    sc.run("2017-10")
    assert share(wh, "2017-10", "2017-10") == expected
    assert share(wh, "2017-10", "2017-09") == (3, 0, Decimal("0.00"))  # no education that month


def test_A3_the_option_is_typed_and_off_by_default(monkeypatch):
    from fsm.config import SettingsError, rules

    assert rules().education_counts_as_activity is False
    monkeypatch.setenv("FSM_RULE_EDUCATION_COUNTS_AS_ACTIVITY", "sometimes")
    with pytest.raises(SettingsError, match="FSM_RULE_EDUCATION_COUNTS_AS_ACTIVITY"):
        rules()
