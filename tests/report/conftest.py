"""The report tests' two warehouses: FSM1 (2018-02, 2018-03) and FSM2 (2019-01 … 2019-03), reports written once a module."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from report.support import FEB, MAR19, MARCH, build, build_fsm2
from support.db import empty_warehouse
from support.scenario import Scenario


@pytest.fixture(scope="module")
def reports(warehouse_url, tmp_path_factory):
    """Build the warehouse once, write the reports for 2018-02 and 2018-03, remember the warehouse's own figures."""
    from fsm import warehouse
    from fsm.quality import check_markings
    from fsm.report import write_reports

    empty_warehouse()
    root = tmp_path_factory.mktemp("report")
    sc = Scenario(root / "landing")
    build(sc)
    sc.run("2018-03", months=["2018-02", "2018-03"])
    check_markings(FEB)
    check_markings(MARCH)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FSM_REPORTS_DIR", str(root / "reports"))
        mp.delenv("FSM_REPORT_LANG", raising=False)
        write_reports(FEB)
        t0 = time.perf_counter()
        result = write_reports(MARCH)
        seconds = time.perf_counter() - t0
    with warehouse.connect() as conn:
        wh_rows = conn.execute(
            "select kommune_kode, tranche, grant_dkk, amount_dkk, earned, earned_month from mart_tranche_status"
            " where as_of_month = %s and programme = 'FSM1' order by 1, 2",
            (MARCH,),
        ).fetchall()
        wh_totals = conn.execute(
            "select sum(amount_dkk), sum(amount_dkk) filter (where earned), sum(amount_dkk) filter (where not earned),"
            " sum(amount_dkk) filter (where earned_month = %s) from mart_tranche_status where as_of_month = %s",
            (MARCH, MARCH),
        ).fetchone()
        visitation = {
            r[0]: r[1:]
            for r in conn.execute(
                "select kommune_kode, target_n, visited_n, deferred_n, coverage_pct from mart_visitation_progress where as_of_month = %s",
                (MARCH,),
            ).fetchall()
        }
        dq = conn.execute(
            "select kommune_kode, rule_id, count(*) from dq_marking_violations where as_of_month = %s group by 1, 2", (MARCH,)
        ).fetchall()
        person_keys = [
            r[0] for r in conn.execute("select distinct p.person_key from stg_markings join dim_person as p using (person_id)")
        ]
        english = [  # the warehouse's English sentences behind the Danish reports (which must not show them)
            s for r in conn.execute("select basis, grant_source from mart_tranche_status").fetchall() for s in r
        ]
    out = Path(result["dir"])
    return {
        "dir": out,
        "result": result,
        "seconds": seconds,
        "wh_rows": wh_rows,
        "wh_totals": wh_totals,
        "visitation": visitation,
        "dq": dq,
        "person_keys": person_keys,
        "english": english,
    }


@pytest.fixture(scope="module")
def fsm2_reports(warehouse_url, tmp_path_factory):
    """FSM2 for 2019-01..03 (2 municipalities), the report for 2019-03; the marts as the warehouse has them."""
    from fsm import warehouse
    from fsm.report import write_reports

    empty_warehouse()
    root = tmp_path_factory.mktemp("report_fsm2")
    sc = Scenario(root / "landing")
    build_fsm2(sc)
    # FSM1 still runs in 2019: five group-1 citizens in København (no benefits, so not in FSM2's target group)
    for p in range(50, 55):
        sc.brutto(p, kommune=101).mark(f"g{p}", p, "FSM_GR1", "2017-09-01", kommune=101)
    sc.run("2019-03", months=["2019-02", "2019-03"])
    sc.run("2019-03", months=["2019-01", "2019-02", "2019-03"], programme="FSM2")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FSM_REPORTS_DIR", str(root / "reports"))
        mp.delenv("FSM_REPORT_LANG", raising=False)
        result = write_reports(MAR19)
    shutil.copytree(result["dir"], "/tmp/report_fsm2", dirs_exist_ok=True)  # to look at
    with warehouse.connect() as conn:
        marts = conn.execute(
            "select kommune_kode, activity_month, herkomst, target_n, group2_n, exempt_n, indsatsgruppe_n, active_n, share_pct"
            " from mart_fsm2_result where as_of_month = %s",
            (MAR19,),
        ).fetchall()
        req = conn.execute(
            "select kommune_kode, threshold_pct, met, met_month, basis from mart_fsm2_requirement where as_of_month = %s",
            (MAR19,),
        ).fetchall()
        person_keys = [
            r[0] for r in conn.execute("select distinct p.person_key from stg_ydelse join dim_person as p using (person_id)")
        ]
        english = [r[0] for r in conn.execute("select basis from mart_fsm2_requirement").fetchall()]
        english += [s for r in conn.execute("select basis, grant_source from mart_fsm2_payment_status").fetchall() for s in r]
        english += [s for r in conn.execute("select basis, grant_source from mart_tranche_status").fetchall() for s in r]
    return {
        "dir": Path(result["dir"]),
        "result": result,
        "result_rows": {(r[0], r[1], r[2]): r[3:] for r in marts},
        "req": {(r[0], int(r[1])): r[2:] for r in req},
        "person_keys": person_keys,
        "english": english,
    }
