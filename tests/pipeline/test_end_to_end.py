"""End to end through Airflow: dag.test() over consecutive months on a small synthetic landing zone."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from fsm_dev.synth import generate

    root = tmp_path_factory.mktemp("synthetic") / "landing"
    manifest = generate(root, seed=7, scale="tiny", start="2017-08", end="2017-10")
    return root, manifest


def test_three_months_through_airflow(wh, synthetic, tmp_path, monkeypatch):
    from fsm_dev.run import load_dag, run_month

    root, manifest = synthetic
    monkeypatch.setenv("FSM_LANDING", str(root))
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path / "reports"))
    dag = load_dag()
    for month in ("2017-08", "2017-09", "2017-10"):
        run_month(dag, month)  # raises unless the run succeeded

    with wh.connect() as conn:
        loaded = dict(conn.execute("select file_name, rows_loaded from ingest_file").fetchall())
        staged = {}
        for table in ("stg_markings", "stg_ydelse", "stg_tilbud", "stg_timer"):
            staged.update(
                conn.execute(
                    f"select f.file_name, count(*) from {table} s join ingest_file f using (file_id) group by 1"
                ).fetchall()
            )
        rejects = dict(conn.execute("select file, count(*) from ingest_rejects group by 1").fetchall())
        marts = conn.execute("select count(distinct as_of_month) from mart_tranche_status where programme = 'FSM1'").fetchone()[0]

    files = {Path(rel).name: info for rel, info in manifest["files"].items()}
    assert set(loaded) == set(files)
    for name, info in files.items():
        expected = info["rows"] - len(info["rejects"])
        assert staged.get(name, 0) == expected == loaded[name], name
        assert rejects.get(name, 0) == len(info["rejects"]), name
    assert marts == 3
    for month in ("2017-08", "2017-09", "2017-10"):
        assert (tmp_path / "reports" / month / "tranche_report.csv").exists()
        assert (tmp_path / "reports" / month / "data_docs" / "index.html").exists()
