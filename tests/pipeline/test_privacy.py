"""Issue 9, leaks: no input CPR (hyphenated or not) anywhere the pipeline writes, and the
pseudonym key in none of it.

Two months of the tiny synthetic landing zone, plus rows built to push CPRs into odd places (a
CPR in the municipality column, in free text, glued to a neighbour by a lost separator, a file
whose header is data), go through every task function of fsm.pipeline. Then the warehouse
(every text column of every table), the reports, the GX Data Docs, the task return values (what
lands in XCom) and the logs and captured output are searched: zero hits.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest

from fsm import cpr as cprmod
from fsm import pipeline
from fsm.ingest.landing import LandingError

FEEDS = ("markings", "ydelse", "tilbud", "timer", "uddannelse", "allocations")
MONTHS = (date(2017, 8, 1), date(2017, 9, 1))
ODD_CPR = ("1203851234", "2404754321", "0911991111")  # only in odd places


def _append(path: Path, rows: list[str]) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(rows) + "\n")


def _adversarial(root: Path) -> None:
    a, b, c = ODD_CPR
    _append(root / "markings/markings_2017-08-31.csv", [
        f"X1;{a};{b};FSM_GR1;2017-08-01;;2017-08-01T09:00:00;",  # a CPR as kommune_kode
        f"X2;{a};101;FSM_GR1;2017-08-01;;2017-08-01T09:00:00;borger {b[:6]}-{b[6:]} flyttet",  # in free text (loaded, masked)
        f"X3{c};101;FSM_GR1;2017-08-01;;2017-08-01T09:00:00;",  # id and CPR glued: wrong field count
        f'X4;"{a}\n{b}";101;FSM_GR1;2017-08-01;;2017-08-01T09:00:00;',  # a quoted line break in the CPR
        f"X5;{a[:6]}-{a[6:]};101;FSM_GR9;{c};;2017-08-01;",  # bad code, CPR as a date
    ])  # fmt: skip
    _append(root / "registers/ydelse/ydelse_2017-09.csv", [
        f"{b};{c};101;KONTANTHJAELP;AKTIVITETSPARAT;0;DANSK",  # CPR as iso_week
        f"{b};2017-W36;101;KONTANTHJAELP;{a};0;DANSK",  # CPR as matchgruppe
    ])  # fmt: skip
    (root / "registers/uddannelse").mkdir(parents=True, exist_ok=True)
    (root / "registers/uddannelse/uddannelse_2017-09.csv").write_text(f"cpr;month;su_eligible\n{a};2017-09;1\n{c};2017-09;{b}\n")


def _input_cprs(root: Path) -> set[str]:
    found = set(ODD_CPR)
    for path in root.rglob("*.csv"):
        text = path.read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
        if rows and "cpr" in rows[0]:
            i = rows[0].index("cpr")
            found |= {r[i].replace("-", "") for r in rows[1:] if len(r) > i and re.fullmatch(r"\d{6}-?\d{4}", r[i])}
    return found


def _pattern(cprs: set[str]) -> re.Pattern[str]:
    forms = sorted({c for c in cprs} | {f"{c[:6]}-{c[6:]}" for c in cprs})
    return re.compile("|".join(forms))


def _files_text(folder: Path) -> dict[str, str]:
    """Every file under `folder` as text; an xlsx (zip) member by member."""
    out = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                for name in z.namelist():
                    out[f"{path}!{name}"] = z.read(name).decode("utf-8", "replace")
        else:
            out[str(path)] = path.read_bytes().decode("utf-8", "replace")
    return out


@pytest.fixture(scope="module")
def landing_zone(tmp_path_factory):
    from fsm_dev.synth import generate

    root = tmp_path_factory.mktemp("leaks") / "landing"
    generate(root, seed=13, scale="tiny", start="2017-08", end="2017-09")
    _adversarial(root)
    return root


@pytest.mark.slow
def test_no_input_cpr_and_no_key_in_anything_the_pipeline_writes(wh, landing_zone, tmp_path, monkeypatch, caplog, capfd):
    import os

    reports = tmp_path / "reports"
    monkeypatch.setenv("FSM_LANDING", str(landing_zone))
    monkeypatch.setenv("FSM_REPORTS_DIR", str(reports))
    caplog.set_level(logging.DEBUG)
    key = os.environ["FSM_PSEUDONYM_KEY"]
    cprs = _input_cprs(landing_zone)
    assert len(cprs) > 300
    xcom = [pipeline.prepare_warehouse()]
    for m in MONTHS:
        xcom += [pipeline.ingest(feed, m) for feed in FEEDS]
        xcom += [pipeline.quality_inputs(m), pipeline.quality_markings(m), pipeline.transform(m), pipeline.quality_marts(m)]
        xcom.append(pipeline.report(m))

    # A whole-file failure whose header is data: its message (logged by Airflow as the task's failure) too.
    bad = landing_zone.parent / "bad"
    (bad / "registers/timer").mkdir(parents=True)
    (bad / "registers/timer/timer_2017-08.csv").write_text(f"{ODD_CPR[0]};2017-08;12345678;1;0\n")
    from fsm.ingest import ingest_feed

    with pytest.raises(LandingError) as err:
        ingest_feed("timer", MONTHS[0], str(bad))
    logging.getLogger("fsm").error("task failed: %s", err.value)

    with wh.connect() as conn:  # the warehouse really holds what the odd rows became
        assert conn.execute("select count(*) from stg_markings where fritagelse_aarsag like '%XXXXXX-XXXX%'").fetchone()[0] == 1
        assert (
            conn.execute("select count(*) from ingest_rejects where file like 'markings%' and line_no > 400").fetchone()[0] >= 5
        )

    pattern = _pattern(cprs)
    hits: list[str] = []
    with wh.connect() as conn:
        cols = conn.execute(
            "select c.table_name, c.column_name from information_schema.columns c"
            " join information_schema.tables t using (table_schema, table_name)"
            " where c.table_schema = 'public' and t.table_type = 'BASE TABLE'"
            " and c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb')"
        ).fetchall()
        assert len(cols) > 20
        forms = "|".join(sorted(pattern.pattern.split("|")))
        for table, column in cols:
            n = conn.execute(f'select count(*) from {table} where "{column}"::text ~ %s', (forms,)).fetchone()[0]
            n_key = conn.execute(f'select count(*) from {table} where strpos("{column}"::text, %s) > 0', (key,)).fetchone()[0]
            if n or n_key:
                hits.append(f"warehouse {table}.{column}: {n} CPR, {n_key} key")
    docs = _files_text(reports)
    assert any("data_docs" in p for p in docs) and any(p.endswith(".xlsx!xl/workbook.xml") for p in docs)
    assert any(p.endswith("tranche_report.csv") for p in docs) and any(p.endswith("tranche_report.html") for p in docs)
    out, err_text = capfd.readouterr()
    places = {
        **{f"report {p}": t for p, t in docs.items()},
        "xcom": json.dumps(xcom, default=str),
        "logs": caplog.text,
        "stdout": out,
        "stderr": err_text,
    }
    for where, text in places.items():
        if pattern.search(text):
            hits.append(f"{where}: CPR {pattern.search(text).group(0)[:4]}…")
        if key in text:
            hits.append(f"{where}: the pseudonym key")
    print(
        f"\nleak scan: {len(cprs)} input CPRs x 2 forms over {len(cols)} warehouse text columns, {len(docs)} report/Data Docs"
        f" files, {len(xcom)} task results, {len(caplog.records)} log records: {len(hits)} hits"
    )
    assert hits == []
    # The scanner itself works: a planted CPR in each form is found.
    some = sorted(cprs)[0]
    assert pattern.search(f"x{some}y") and pattern.search(f"x {some[:6]}-{some[6:]} y")
    with wh.connect() as conn:
        assert conn.execute("select %s::text ~ %s", (f"row {some[:6]}-{some[6:]}", forms)).fetchone()[0]


@pytest.fixture
def fresh_key():
    cprmod.pseudonym_key.cache_clear()
    yield
    cprmod.pseudonym_key.cache_clear()


def test_development_key_refused_in_production(fresh_key, monkeypatch):
    from fsm.config import DEVELOPMENT_PSEUDONYM_KEY

    monkeypatch.setenv("FSM_ENV", "production")
    monkeypatch.setenv("FSM_PSEUDONYM_KEY", DEVELOPMENT_PSEUDONYM_KEY)
    with pytest.raises(cprmod.PseudonymKeyError, match="development pseudonym key is refused"):
        cprmod.pseudonym_key()
    monkeypatch.delenv("FSM_PSEUDONYM_KEY")
    monkeypatch.delenv("AIRFLOW_CONN_FSM_PSEUDONYM", raising=False)
    with pytest.raises(cprmod.PseudonymKeyError, match="refusing to pseudonymise with the public development key"):
        cprmod.pseudonym_key()
    monkeypatch.setenv("FSM_ENV", "prod")
    with pytest.raises(cprmod.PseudonymKeyError):
        cprmod.pseudonym_key()


def test_a_real_key_is_used_and_never_logged(fresh_key, monkeypatch, caplog):
    secret = "s3cret-" + "k" * 30
    monkeypatch.setenv("FSM_ENV", "production")
    monkeypatch.setenv("FSM_PSEUDONYM_KEY", secret)
    caplog.set_level(logging.DEBUG)
    assert cprmod.pseudonym_key() == secret.encode()
    pk = cprmod.person_key("0101801234")
    assert len(pk) == 64 and secret not in pk
    monkeypatch.delenv("FSM_ENV")
    monkeypatch.delenv("FSM_PSEUDONYM_KEY")
    cprmod.pseudonym_key.cache_clear()
    monkeypatch.delenv("AIRFLOW_CONN_FSM_PSEUDONYM", raising=False)
    from fsm.config import DEVELOPMENT_PSEUDONYM_KEY

    assert cprmod.pseudonym_key() == DEVELOPMENT_PSEUDONYM_KEY.encode()  # development: allowed, with a warning
    assert "DEVELOPMENT PSEUDONYM KEY" in caplog.text
    assert secret not in caplog.text and DEVELOPMENT_PSEUDONYM_KEY not in caplog.text
    assert cprmod.person_key("0101801234") != pk  # a different key, a different pseudonym
