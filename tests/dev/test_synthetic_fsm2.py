"""FSM2 on the synthetic landing zone: the marts equal the generator's independently computed truth."""

from __future__ import annotations

from datetime import date

import pytest

from fsm.ingest import ingest_feed
from fsm.months import label, month_range
from fsm.transform import run_fsm2

pytestmark = pytest.mark.slow
MEASURES = ("target_n", "group2_n", "exempt_n", "indsatsgruppe_n", "active_n")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from fsm_dev.synth import generate

    root = tmp_path_factory.mktemp("synthetic_fsm2") / "landing"
    return root, generate(root, seed=5, scale="tiny", start="2019-01", end="2019-06", programmes=("FSM1", "FSM2"))


def test_fsm2_result_and_requirement_match_the_generator(wh, synthetic):
    root, manifest = synthetic
    truth = manifest["truth_fsm2"]
    for m in month_range(date(2019, 1, 1), date(2019, 6, 1)):
        for feed in ("markings", "ydelse", "tilbud", "timer", "uddannelse"):
            ingest_feed(feed, m, str(root))
        run_fsm2(m)
    with wh.connect() as conn:
        rows = conn.execute(
            "select kommune_kode, to_char(activity_month, 'YYYY-MM'), herkomst, target_n, group2_n, exempt_n,"
            " indsatsgruppe_n, active_n from mart_fsm2_result where as_of_month = activity_month"
        ).fetchall()
        met = conn.execute(
            "select kommune_kode, threshold_pct, to_char(met_month, 'YYYY-MM') from mart_fsm2_requirement"
            " where as_of_month = '2019-06-01'"
        ).fetchall()
    got = {(str(k), m, h): tuple(v) for k, m, h, *v in rows}
    mismatches = []
    for kommune, per in truth["per_kommune"].items():
        for herkomst in truth["herkomst"]:
            for i, month in enumerate(truth["months"]):
                want = tuple(per[herkomst][measure][i] for measure in MEASURES)
                have = got.get((kommune, month, herkomst), (0, 0, 0, 0, 0))
                if want != have:
                    mismatches.append((kommune, month, herkomst, want, have))
    assert mismatches == []
    first = {(str(k), int(t)): m for k, t, m in met}
    for kommune, per in truth["per_kommune"].items():
        assert first[(kommune, 15)] == per["first_month_15"], kommune
        assert first[(kommune, 20)] == per["first_month_20"], kommune
    assert label(date(2019, 6, 1)) == truth["months"][-1]
