"""The model manifest: every SQL model of a programme, in dependency order, and each mart's columns.

Intermediates (include/sql/intermediate/<name>.sql) become temp tables dropped at commit; marts
(include/sql/marts/<name>.sql) are computed into `<name>_all` and the months a run owns are copied
into the warehouse table with the columns listed here. Adding a model means adding it here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mart:
    name: str
    columns: tuple[str, ...]  # copied into the warehouse table; the first four order the insert
    # later marts read its rows of earlier as-of months: a monthly run takes those from the warehouse when
    # their inputs are unchanged (fsm.transform.history)
    history: bool = False
    # which of a reused month's stored rows: those a run computes for an as-of month it does not write
    history_rows: str = "true"

    @property
    def column_list(self) -> str:
        return ", ".join(self.columns)


@dataclass(frozen=True)
class Programme:
    name: str
    intermediates: tuple[str, ...]
    marts: tuple[Mart, ...]
    # the marts hold several programmes' rows (a run deletes only its own)
    shared_marts: bool


FSM1 = Programme(
    "FSM1",
    intermediates=(
        "int_asof_months",
        "int_register_files",
        "int_markings_asof",
        "int_target_group",
        "int_group_periods",
        "int_citizen_status",
        "int_indsatsgruppe",
        "int_activity_pairs",
        "int_activity",
    ),
    marts=(
        Mart(
            "mart_visitation_progress",
            (
                "as_of_month",
                "programme",
                "kommune_kode",
                "kommune_navn",
                "target_n",
                "visited_n",
                "group1_n",
                "group2_n",
                "group3_n",
                "deferred_n",
                "unvisited_n",
                "left_unvisited_n",
                "coverage_pct",
                "coverage_met",
                "pjf_n",
                "snapshot_date",
                "accounted_n",  # V013: tranche 2 reads it for earlier months (P2)
            ),
            history=True,
        ),
        Mart(
            "mart_activity_share",
            (
                "as_of_month",
                "programme",
                "kommune_kode",
                "activity_month",
                "cohort_n",
                "active_n",
                "share_pct",
                "meets_threshold",
            ),
            history=True,
            history_rows="activity_month > (as_of_month - make_interval(months => {{ activity_months_running }}))::date",
        ),
        Mart(
            "mart_tranche_status",
            (
                "as_of_month",
                "programme",
                "kommune_kode",
                "tranche",
                "kommune_navn",
                "tranche_pct",
                "grant_dkk",
                "amount_dkk",
                "earned",
                "earned_month",
                "basis",  # rendered from basis_code/basis_args (fsm.report.basis), as is grant_source
                "grant_source",
                "basis_code",
                "basis_args",
                "grant_source_code",
            ),
        ),
    ),
    shared_marts=True,
)

FSM2 = Programme(
    "FSM2",
    intermediates=("int_asof_months", "int_register_files", "int_fsm2_pairs", "int_fsm2_target", "int_fsm2_status"),
    marts=(
        Mart(
            "mart_fsm2_result",
            (
                "as_of_month",
                "kommune_kode",
                "activity_month",
                "herkomst",
                "target_n",
                "group2_n",
                "exempt_n",
                "indsatsgruppe_n",
                "active_n",
                "share_pct",
            ),
            history=True,
            history_rows="activity_month = as_of_month",  # int_fsm2_pairs: its own month
        ),
        Mart(
            "mart_fsm2_requirement",
            ("as_of_month", "kommune_kode", "threshold_pct", "met", "met_month", "basis", "basis_code", "basis_args"),
        ),
        Mart(  # F10: reads mart_fsm2_result_all and mart_fsm2_requirement_all, so it comes after them
            "mart_fsm2_payment_status",
            (
                "as_of_month",
                "kommune_kode",
                "part",
                "kommune_navn",
                "part_pct",
                "grant_dkk",
                "amount_dkk",
                "earned",
                "earned_month",
                "basis",  # rendered from basis_code/basis_args (fsm.report.basis), as is grant_source
                "grant_source",
                "basis_code",
                "basis_args",
                "grant_source_code",
            ),
        ),
    ),
    shared_marts=False,
)

PROGRAMMES = {p.name: p for p in (FSM1, FSM2)}
