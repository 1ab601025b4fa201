"""Why a row is what it is: the marts' basis codes and facts, rendered into Danish or English from the catalogue.

The marts (include/sql/marts) write a code and its facts (`basis_code`, `basis_args`, and for the
tranches `grant_source_code`); the sentences are made here, from the same catalogue for the report
(in its language) and for the warehouse's English `basis` and `grant_source` columns, which the
transform fills right after computing a mart (`fill_english`). A code without a message fails.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from fsm.report.text import Text

# Each code the marts write, with the counts of citizens its sentence shows (disclosure control
# counts them as the report's other counts).
BASIS_CODES: dict[str, tuple[str, ...]] = {
    "P1_paid_at_start": (),  # P1: tranche 1 is paid at project start
    "P2_coverage_met": ("accounted_n", "target_n"),  # P2: the first month whose own snapshot showed the coverage
    "P2_no_snapshot": (),  # P2: no markings snapshot for the month yet
    "P2_coverage_short": ("accounted_n", "target_n"),  # P2: not yet, with this month's coverage and the requirement
    "P3_activity_met": (),  # P3: the months running that earned tranche 3, with their shares
    "P3_activity_short": (),  # P3: not yet, with the current window's shares
    "F8_met": ("active_n", "indsatsgruppe_n"),  # F6/F8: the first month the result share reached the threshold
    "F8_not_met": (),  # F6/F8: not yet, with the best month so far
    "F10_part1_at_start": (),  # F10: part 1 is paid at the programme's start, no result requirement
    "F10_result_met": ("active_n", "indsatsgruppe_n"),  # F10: the first month the part's F8 threshold was reached
    "F10_result_not_met": (),  # F10: not yet, with the best month so far
    "F10_no_target_group": (),  # F10: pool split, the participant had no target group in the split month: grant 0
    "F10_no_data": (),  # F10: pool split, no FSM2 target group delivered yet: grant 0
}
GRANT_SOURCE_CODES = (
    "P4_allocation_file",  # P4: the grant from finance's allocation file
    "P4_allocation_missing",  # P4: an allocation file without this municipality: grant 0
    "P4_default_split",  # P4: the configured pool split by target group at start (basis_args.pool_dkk)
    "F10_allocation_file",  # F10: the FSM2 grant from finance's allocation file (programme FSM2)
    "F10_allocation_missing",  # F10: an allocation file with FSM2 rows, without this municipality: grant 0
    "F10_default_split",  # F10: the FSM2 pool split by target group in the first month with data
    "F10_no_data",  # F10: the FSM2 pool, no target group delivered yet: grant 0
)

# mart -> (English text column, its code column, catalogue prefix); the facts are in basis_args.
RENDERED: dict[str, tuple[tuple[str, str, str], ...]] = {
    "mart_tranche_status": (("basis", "basis_code", "basis"), ("grant_source", "grant_source_code", "grant")),
    "mart_fsm2_requirement": (("basis", "basis_code", "basis"),),
    "mart_fsm2_payment_status": (("basis", "basis_code", "basis"), ("grant_source", "grant_source_code", "grant")),
}


def parse_args(value: str | Mapping[str, object] | None) -> dict[str, object]:
    """basis_args as read from PostgreSQL (jsonb text): numbers as Decimal or int, exactly as stored."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    return json.loads(value, parse_float=Decimal)


def basis_text(code: str, args: Mapping[str, object], t: Text) -> str:
    """A tranche's or requirement's basis sentence in t's language."""
    if code not in BASIS_CODES:
        raise KeyError(f"basis code {code!r} has no message (fsm.report.basis.BASIS_CODES)")
    return t(f"basis.{code}", **args)


def grant_source_text(code: str, args: Mapping[str, object], t: Text) -> str:
    """Where a municipality's FSM1 (P4) or FSM2 (F10) grant comes from, in t's language."""
    if code not in GRANT_SOURCE_CODES:
        raise KeyError(f"grant source code {code!r} has no message (fsm.report.basis.GRANT_SOURCE_CODES)")
    return t(f"grant.{code}", **args)


def _render(prefix: str, code: str, args: Mapping[str, object], t: Text) -> str:
    return basis_text(code, args, t) if prefix == "basis" else grant_source_text(code, args, t)


def shown_counts(code: str | None, args: Mapping[str, object] | None) -> list[int]:
    """The counts of citizens a basis sentence shows (small-number control)."""
    if not code or not args:
        return []
    return [int(args[k]) for k in BASIS_CODES.get(code, ()) if args.get(k) is not None]


def localise(row: dict[str, object], t: Text) -> None:
    """A mart row's basis (and grant source) in t's language, from its facts; the warehouse's English
    text is kept as `grant_source_en` (the report orders the grant sources by it, as it always has).
    A row written before V005 has no code: its stored text stays."""
    args = row["basis_args"] = parse_args(row.get("basis_args"))
    if row.get("basis_code"):
        row["basis"] = basis_text(str(row["basis_code"]), args, t)
    if "grant_source" in row:
        row.setdefault("grant_source_en", row["grant_source"])
        if row.get("grant_source_code"):
            row["grant_source"] = grant_source_text(str(row["grant_source_code"]), args, t)


def fill_english(conn, mart: str, write: Sequence[date]) -> int:
    """Fill `<mart>_all`'s English text columns for the months a run writes, from its codes and facts.

    Set-wise: the distinct (codes, facts) of those months are rendered once each and written back in
    one UPDATE joined on them. Called by fsm.transform right after the mart is computed, before its
    rows are copied into the warehouse table; a mart without rendered columns is left alone."""
    spec = RENDERED.get(mart)
    if not spec:
        return 0
    table = f"{mart}_all"
    code_cols = [code for _, code, _ in spec]
    for column, _, _ in spec:
        conn.execute(f"alter table {table} add column if not exists {column} text")
    distinct = conn.execute(
        f"select distinct {', '.join(code_cols)}, basis_args::text from {table} where as_of_month = any(%s)", (list(write),)
    ).fetchall()
    if not distinct:
        return 0
    t = Text("en")
    codes: list[list[str]] = [[] for _ in spec]
    texts: list[list[str]] = [[] for _ in spec]
    facts: list[str] = []
    for row in distinct:
        args = parse_args(row[-1])
        facts.append(row[-1])
        for i, (_, _, prefix) in enumerate(spec):
            codes[i].append(row[i])
            texts[i].append(_render(prefix, row[i], args, t))
    arrays = ", ".join(["%s::text[]"] * (2 * len(spec)) + ["%s::jsonb[]"])
    names = [f"c{i}" for i in range(len(spec))] + [f"t{i}" for i in range(len(spec))] + ["args"]
    sets = ", ".join(f"{column} = v.t{i}" for i, (column, _, _) in enumerate(spec))
    match = " and ".join(f"m.{code} = v.c{i}" for i, code in enumerate(code_cols))
    cur = conn.execute(
        f"update {table} as m set {sets} from unnest({arrays}) as v ({', '.join(names)})"
        f" where m.as_of_month = any(%s) and {match} and m.basis_args = v.args",
        (*codes, *texts, facts, list(write)),
    )
    return cur.rowcount
