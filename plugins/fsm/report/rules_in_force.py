"""The rules and interpretations in force, as the report prints them: (rule id, setting, value) from Rules' values."""

from __future__ import annotations

from fsm.config import Rules
from fsm.report.text import Text


def rules_in_force(r: Rules, t: Text) -> list[tuple[str, str, str]]:
    """One row per setting of DOMAIN.md's rules, labelled from the catalogue, values formatted by Babel."""

    def row(rule_id: str, setting: str, value: str) -> tuple[str, str, str]:
        return rule_id, t(f"setting.{setting}"), value

    return [
        row("T2", "project_start", r.project_start.isoformat()),
        row("T3", "visited_stay_in_target_group", t.yes_no(r.visited_stay_in_target_group)),
        row("M3", "backdating_grace_days", t.number(r.backdating_grace_days)),
        row("D1", "marking_periods", t("value.fixed")),
        row("V2", "deferred_counts_as_visited", t.yes_no(r.deferred_counts_as_visited)),
        row("P2", "coverage_required_pct", t.number(r.coverage_required_pct)),
        row("A1", "counted_offer_types", ", ".join(r.counted_offer_types)),
        row("A3", "education_counts_as_activity", t.yes_no(r.education_counts_as_activity)),
        row("P3", "activity_threshold_pct", t.number(r.activity_threshold_pct)),
        row("P3", "activity_months_running", t.number(r.activity_months_running)),
        row("P1-P3", "tranche_pcts", "/".join(t.number(p) for p in r.tranche_pcts)),
        row("P4", "fsm1_budget_dkk", t.amount(r.fsm1_budget_dkk)),
        row("P4", "tranche_rounding", t("value.tranche_rounding")),
        row("P5", "as_of", t("value.as_of")),
        row("F9", "fsm2_period", t("value.period", first=r.fsm2_first_month, last=r.fsm2_last_month)),
        row("F9", "fsm2_participants", ", ".join(str(k) for k in r.fsm2_participants)),
        row(
            "F1/F7",
            "fsm2_benefits",
            t("value.fsm2_benefits", benefits=", ".join(r.fsm2_benefits), until=r.fsm2_integrationsydelse_until),
        ),
        row("F1/F7", "fsm2_min_age", t.number(r.fsm2_min_age)),
        row("F3", "fsm2_exemption", t("value.fixed")),
        row("F4", "fsm2_groups", t("value.fixed")),
        row("F8", "fsm2_thresholds_pct", ", ".join(t.number(x) for x in r.fsm2_thresholds_pct)),
        row("F10", "fsm2_part_pcts", "/".join(t.number(p) for p in r.fsm2_part_pcts)),
        row("F10", "fsm2_part_thresholds_pct", ", ".join(t.number(x) for x in r.fsm2_part_thresholds_pct)),
        row("F10", "fsm2_pool_dkk", t.amount(r.fsm2_pool_dkk)),
        row("F10", "fsm2_part_rounding", t("value.fsm2_part_rounding", first=r.fsm2_first_month)),
        row("F10", "fsm2_payment_source", t("value.fsm2_payment_source")),
    ]
