"""The finance report for an as-of month (CONTRACT §2): tranche_report.csv/.xlsx/.html.

Finance decides payments from this report, so:

* money is read from the warehouse as Decimal (NUMERIC) and every total is computed in Decimal;
  the xlsx stores numbers as numbers (a float only at the moment the cell is written), its totals
  rows are ``=SUM(...)`` formulas whose cached values are the Decimal totals;
* the html is self-contained (inline CSS, charts as base64 PNG) and prints on A4;
* no CPR and no person_key ever reaches a report: every query below selects counts and amounts
  only. Counts of 1–4 (FSM_REPORT_SMALL_COUNT, default 5) mark the report INTERNAL.

Labels are Danish, as finance reads them; ``FSM_REPORT_LANG=en`` switches the xlsx and html to
English. The csv keeps its column labels in both languages.
"""

from __future__ import annotations

import base64
import csv
import io
import logging
import math
import os
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from fsm import months
from fsm.config import FSM1_MARKING_RULES, Rules, reports_dir, rules
from fsm.warehouse import connect

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
HTML_TEMPLATE = "tranche_report.html.j2"
FSM2_CSV = "fsm2_result.csv"

CSV_COLUMNS = (
    ("kommune_kode", "Kommunekode"),
    ("kommune_navn", "Kommune"),
    ("tranche", "Rate"),
    ("tranche_pct", "Rate_pct"),
    ("grant_dkk", "Tilskud_kr"),
    ("amount_dkk", "Beloeb_kr"),
    ("earned", "Udloest"),
    ("earned_month", "Udloest_maaned"),
    ("basis", "Begrundelse"),
    ("grant_source", "Tilskudsgrundlag"),
)

# The FSM1 marking rules first, in DOMAIN's order; the report appends any other rule that has findings.
DQ_RULES = FSM1_MARKING_RULES
VISITATION_COUNTS = (
    "target_n",
    "visited_n",
    "group1_n",
    "group2_n",
    "group3_n",
    "deferred_n",
    "unvisited_n",
    "left_unvisited_n",
    "pjf_n",
)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def report_lang() -> str:
    """FSM_REPORT_LANG: 'da' (default) or 'en'."""
    return "en" if os.environ.get("FSM_REPORT_LANG", "da").strip().lower().startswith("en") else "da"


def small_count_limit() -> int:
    """Counts 1 … limit-1 are 'small numbers' (zero is not): they make the report internal."""
    return int(os.environ.get("FSM_REPORT_SMALL_COUNT", "5"))


# --------------------------------------------------------------------------------------- labels

TEXT: dict[str, tuple[str, str]] = {
    "title": ("Flere skal med – ratestatus og udbetalinger", "Flere skal med – tranche status and payments"),
    "programme": ("Flere skal med (FSM1)", "Flere skal med (FSM1)"),
    "as_of": ("Opgjort pr.", "As of"),
    "generated": ("Dannet", "Generated"),
    "snapshot": ("Markeringsudtræk", "Markings snapshot"),
    "computed": ("Beregnet", "Computed"),
    "internal": (
        "INTERN – indeholder små tal (1–{m}); må ikke offentliggøres",
        "INTERNAL – contains small numbers (1–{m}); not for publication",
    ),
    "internal_detail": (
        "{k} tal mellem 1 og {m} (antal borgere eller fund pr. kommune).",
        "{k} counts between 1 and {m} (citizens or findings per municipality).",
    ),
    "not_internal": ("Ingen tal mellem 1 og {m}.", "No counts between 1 and {m}."),
    "no_data": (
        "Lageret har ingen ratestatus for {m}: er månedens kørsel gennemført?",
        "The warehouse has no tranche status for {m}: has the month's run finished?",
    ),
    "reconcile_ok": (
        "Afstemt: tilskud i alt = sum af alle rater = udløst til dato + udestående.",
        "Reconciled: total grants = sum of all tranches = earned to date + outstanding.",
    ),
    "reconcile_bad": (
        "AFSTEMNINGSFEJL: tilskud i alt {a} ≠ sum af rater {b}.",
        "RECONCILIATION ERROR: total grants {a} ≠ sum of tranches {b}.",
    ),
    # sections
    "s_due": ("Udbetalinger der forfalder i {m}", "Payments falling due in {m}"),
    "s_due_none": ("Ingen rater udløses i {m}.", "No tranche falls due in {m}."),
    "s_status": ("Ratestatus pr. kommune", "Tranche status per municipality"),
    "s_totals": ("Totaler", "Totals"),
    "s_changes": ("Ændringer siden sidste måned ({p})", "What changed since last month ({p})"),
    "s_visitation": ("Visitation og dækning", "Visitation and coverage"),
    "s_activity": ("Aktivitetsandel i indsatsgruppen", "Activity share of the indsatsgruppe"),
    "s_dq": ("Datakvalitet: markeringsregler", "Data quality: marking rules"),
    "s_rules": ("Regler, fortolkninger og datagrundlag", "Rules, interpretations and data"),
    "s_deliveries": ("Leverancer", "Deliveries"),
    # columns
    "kode": ("Kommunekode", "Municipality code"),
    "kode_short": ("Kode", "Code"),
    "kommune": ("Kommune", "Municipality"),
    "tranche": ("Rate", "Tranche"),
    "tranche_pct": ("Andel af tilskud", "Share of grant"),
    "amount": ("Beløb (kr.)", "Amount (DKK)"),
    "grant": ("Tilskud (kr.)", "Grant (DKK)"),
    "earned": ("Udløst", "Earned"),
    "earned_month": ("Udløst måned", "Month earned"),
    "since": ("udløst {m}", "earned {m}"),
    "not_earned": ("ikke udløst", "not earned"),
    "tranche_n": ("Rate {n} (kr.)", "Tranche {n} (DKK)"),
    "tranche_n_earned": ("Rate {n} udløst", "Tranche {n} earned"),
    "basis": ("Begrundelse", "Basis"),
    "basis_n": ("Begrundelse rate {n}", "Basis tranche {n}"),
    "grant_source": ("Tilskudsgrundlag", "Grant source"),
    "granted": ("Bevilget (kr.)", "Granted (DKK)"),
    "earned_to_date": ("Udløst til dato (kr.)", "Earned to date (DKK)"),
    "outstanding": ("Udestående (kr.)", "Outstanding (DKK)"),
    "due_now": ("Forfalder i måneden (kr.)", "Due this month (DKK)"),
    "n_earned": ("Kommuner med raten udløst", "Municipalities earned"),
    "n_kommuner": ("Kommuner", "Municipalities"),
    "total": ("I alt", "Total"),
    "country": ("Hele landet", "Whole country"),
    "yes": ("ja", "yes"),
    "no": ("nej", "no"),
    "target_n": ("Målgruppe", "Target group"),
    "visited_n": ("Visiteret", "Visited"),
    "group1_n": ("Gruppe 1", "Group 1"),
    "group2_n": ("Gruppe 2", "Group 2"),
    "group3_n": ("Gruppe 3", "Group 3"),
    "deferred_n": ("Udskudt", "Deferred"),
    "unvisited_n": ("Ikke visiteret", "Not visited"),
    "left_unvisited_n": ("Udgået uvisiteret", "Left unvisited"),
    "coverage": ("Dækning", "Coverage"),
    "coverage_met": ("Fuld dækning", "Full coverage"),
    "pjf_n": ("Gruppe 1 med personlig jobformidler", "Group 1 with personal job broker"),
    "cohort_n": ("Indsatsgruppe", "Indsatsgruppe"),
    "active_n": ("Aktive", "Active"),
    "share": ("Aktivitetsandel", "Activity share"),
    "month": ("Måned", "Month"),
    "rule": ("Regel", "Rule"),
    "rule_id": ("Regel-id", "Rule id"),
    "setting": ("Indstilling", "Setting"),
    "value": ("Værdi", "Value"),
    "severity": ("Alvor", "Severity"),
    "findings": ("Fund", "Findings"),
    "new_findings": ("Nye fund", "New findings"),
    "resolved": ("Ikke længere fundet", "No longer found"),
    "feed": ("Feed", "Feed"),
    "file": ("Fil", "File"),
    "period": ("Periode", "Period"),
    "rows_read": ("Rækker læst", "Rows read"),
    "rows_loaded": ("Indlæst", "Loaded"),
    "rows_rejected": ("Afvist", "Rejected"),
    "loaded_at": ("Indlæst tidspunkt", "Loaded at"),
    "files": ("Filer", "Files"),
    "first_period": ("Første periode", "First period"),
    "last_period": ("Seneste periode", "Last period"),
    # sheet names (≤ 31 characters, none of []:*?/\)
    "sh_due": ("Udbetalinger", "Payments due"),
    "sh_status": ("Ratestatus", "Tranche status"),
    "sh_totals": ("Totaler", "Totals"),
    "sh_detail": ("Rater (detalje)", "Tranches (detail)"),
    "sh_new": ("Nye rater", "Newly earned"),
    "sh_dq_new": ("Nye DQ-fund", "New DQ findings"),
    "sh_visitation": ("Visitation", "Visitation"),
    "sh_share": ("Aktivitetsandel", "Activity share"),
    "sh_active": ("Aktive", "Active"),
    "sh_cohort": ("Indsatsgruppe", "Indsatsgruppe"),
    "sh_dq": ("Datakvalitet", "Data quality"),
    "sh_dq_hist": ("DQ udvikling", "DQ by month"),
    "sh_rules": ("Regler og grundlag", "Rules and basis"),
    "sh_deliveries": ("Leverancer", "Deliveries"),
    # notes
    "n_due": (
        "Rater hvis udløsningsmåned er {m}: beløbet udbetales på grundlag af denne opgørelse.",
        "Tranches whose month earned is {m}: paid on the basis of this report.",
    ),
    "n_status": (
        "Tilskud og rater 30/40/30 pr. kommune; udløst = måned hvor betingelsen første gang var opfyldt (P1–P3).",
        "Grant and 30/40/30 tranches per municipality; earned = first month the condition was met (P1–P3).",
    ),
    "n_detail": (
        "Én række pr. kommune og rate, som i tranche_report.csv.",
        "One row per municipality and tranche, as in tranche_report.csv.",
    ),
    "n_share": (
        "Aktive / indsatsgruppe pr. måned (A2); grøn = mindst {t} % (P3). Hele landet = sum af aktive / sum af indsatsgruppe.",
        "Active / indsatsgruppe per month (A2); green = at least {t} % (P3). Whole country = sum of active / sum of indsatsgruppe.",
    ),
    "n_coverage": (
        "Dækning = (visiteret + udskudt) / målgruppe (V3); fuld dækning udløser rate 2 (P2).",
        "Coverage = (visited + deferred) / target group (V3); full coverage earns tranche 2 (P2).",
    ),
    "n_dq": (
        "Fund pr. regel og kommune i månedens markeringsudtræk. Fund vises kun som antal.",
        "Findings per rule and municipality in the month's markings snapshot. Findings are shown as counts only.",
    ),
    "n_dq_new": (
        "Fund i {m}, der ikke var i {p} (samme regel, markering og borger).",
        "Findings in {m} that were not in {p} (same rule, marking and citizen).",
    ),
    "n_dq_hist": ("Antal fund pr. regel og opgørelsesmåned.", "Findings per rule and as-of month."),
    "n_new": ("Rater udløst pr. {m}, som ikke var udløst pr. {p}.", "Tranches earned as of {m} that were not earned as of {p}."),
    "n_no_prev": (
        "Lageret har ingen ratestatus for {p}; alle rater udløst i {m} vises som nye.",
        "The warehouse has no tranche status for {p}; every tranche earned in {m} is shown as new.",
    ),
    "n_lost": (
        "ADVARSEL: rater udløst pr. {p}, men ikke pr. {m}: {x}.",
        "WARNING: tranches earned as of {p} but not as of {m}: {x}.",
    ),
    "n_amount_changed": ("Beløb ændret siden {p}", "Amounts changed since {p}"),
    "n_none_new": ("Ingen nye udløste rater.", "No newly earned tranches."),
    "n_none_dq_new": ("Ingen nye fund.", "No new findings."),
    "n_deliveries": (
        "Filer indlæst med periode til og med {m} (markeringsudtræk: udtræksdato; registre: måned).",
        "Files loaded with a period up to {m} (markings: extract date; registers: month).",
    ),
    "n_rules": (
        "Regler og fortolkninger i kraft ved dannelsen (fsm.config.Rules; ændres med FSM_RULE_<NAVN>).",
        "Rules and interpretations in force when generated (fsm.config.Rules; override with FSM_RULE_<NAME>).",
    ),
    "n_small": ("Små tal", "Small numbers"),
    "previous": ("Forrige måned", "Previous month"),
    "chart_coverage": ("Dækning pr. kommune, {m}", "Coverage per municipality, {m}"),
    "chart_national": ("Aktivitetsandel, hele landet", "Activity share, whole country"),
    "chart_multiples": (
        "Aktivitetsandel pr. kommune (0–100 %, stiplet linje = {t} %; ✓ = rate 3 udløst)",
        "Activity share per municipality (0–100 %, dashed line = {t} %; ✓ = tranche 3 earned)",
    ),
    "chart_iqr": ("kommuner, 25–75 %-fraktil", "municipalities, 25th–75th percentile"),
    "chart_required": ("krav {t} %", "required {t} %"),
    "last_months": ("Aktivitetsandel de seneste måneder", "Activity share, recent months"),
    "data_basis": ("Datagrundlag", "Data basis"),
    "report_settings": ("Rapportindstillinger", "Report settings"),
    "language": ("Sprog", "Language"),
    "unknown": ("(ukendt)", "(unknown)"),
    # FSM2 (F1–F9)
    "programme2": ("Flere skal med 2 (FSM2)", "Flere skal med 2 (FSM2)"),
    "title2": ("Flere skal med 2 – resultatopfølgning", "Flere skal med 2 – result monitoring"),
    "fsm1_ended": (
        "Ingen FSM1-data for {m}: FSM1 løb {a} – {b}. Rapporten viser FSM2.",
        "No FSM1 data for {m}: FSM1 ran {a} – {b}. The report shows FSM2.",
    ),
    "fsm1_missing": (
        "Lageret har ingen FSM1-data for {m}: er månedens FSM1-kørsel gennemført? Rapporten viser FSM2.",
        "The warehouse has no FSM1 data for {m}: has the month's FSM1 run finished? The report shows FSM2.",
    ),
    "s_fsm1": ("Flere skal med (FSM1)", "Flere skal med (FSM1)"),
    "s_fsm2": ("Flere skal med 2 (FSM2): resultatandel", "Flere skal med 2 (FSM2): result share"),
    "s_fsm2_table": ("Resultat og krav pr. kommune, {m}", "Result and requirements per municipality, {m}"),
    "s_fsm2_origin": ("Resultatandel efter herkomst, hele landet", "Result share by origin, whole country"),
    "s_fsm2_recent": ("Resultatandel de seneste måneder", "Result share, recent months"),
    "s_fsm2_new": ("FSM2-krav opfyldt for første gang", "FSM2 requirements met for the first time"),
    "n_fsm2": (
        "Resultatandel = aktive / indsatsgruppe (F8): aktive har ordinære løntimer eller SU-berettiget uddannelse i måneden."
        " Indsatsgruppe = målgruppe − gruppe 2 − fritaget (F7). Et krav er opfyldt i den første måned, hvor andelen når"
        " tærsklen (F6, F8); grøn = mindst {hi} %, lysegrøn = mindst {lo} %.",
        "Result share = active / indsatsgruppe (F8): active had ordinary paid hours or SU-eligible education in the month."
        " Indsatsgruppe = target group − group 2 − exempt (F7). A requirement is met in the first month whose share reaches"
        " the threshold (F6, F8); green = at least {hi} %, light green = at least {lo} %.",
    ),
    "n_fsm2_share": (
        "Resultatandel pr. måned, alle herkomster (F8); grøn = mindst {hi} %, lysegrøn = mindst {lo} %."
        " Hele landet = sum af aktive / sum af indsatsgruppe.",
        "Result share per month, all origins (F8); green = at least {hi} %, light green = at least {lo} %."
        " Whole country = sum of active / sum of indsatsgruppe.",
    ),
    "n_fsm2_origin": (
        "Tal for {m} pr. kommune og herkomst (F5); Hele landet = summen af kommunerne."
        " Månedskolonnerne viser resultatandelen over tid.",
        "Figures for {m} per municipality and origin (F5); Whole country = the sum of the municipalities."
        " The month columns show the result share over time.",
    ),
    "n_fsm2_new": (
        "FSM2-krav opfyldt pr. {m}, som ikke var opfyldt pr. {p}.",
        "FSM2 requirements met as of {m} that were not met as of {p}.",
    ),
    "n_fsm2_no_prev": (
        "Lageret har ingen FSM2-krav for {p}; krav opfyldt i {m} vises som nye.",
        "The warehouse has no FSM2 requirements for {p}; every requirement met in {m} is shown as new.",
    ),
    "n_fsm2_none_new": ("Ingen FSM2-krav opfyldt for første gang.", "No FSM2 requirement met for the first time."),
    "exempt_n": ("Fritaget", "Exempt"),
    "result_share": ("Resultatandel", "Result share"),
    "threshold": ("Tærskel", "Threshold"),
    "met": ("Opfyldt", "Met"),
    "met_month": ("Opfyldt måned", "Month met"),
    "req_met": ("Krav {t} % opfyldt", "{t} % met"),
    "req_month": ("Krav {t} % måned", "{t} % month"),
    "req_basis": ("Begrundelse {t} %", "Basis {t} %"),
    "n_met": ("Kommuner med {t} % opfyldt", "Municipalities with {t} % met"),
    "herkomst": ("Herkomst", "Origin"),
    "fsm2_share_now": ("FSM2 resultatandel {m}", "FSM2 result share {m}"),
    "sh_fsm1": ("FSM1", "FSM1"),
    "sh_fsm2": ("FSM2 resultat", "FSM2 result"),
    "sh_fsm2_share": ("FSM2 andel", "FSM2 share"),
    "sh_fsm2_active": ("FSM2 aktive", "FSM2 active"),
    "sh_fsm2_cohort": ("FSM2 indsatsgruppe", "FSM2 indsatsgruppe"),
    "sh_fsm2_origin": ("FSM2 herkomst", "FSM2 origin"),
    "programme_col": ("Program", "Programme"),
    "status": ("Status", "Status"),
    "chart_fsm2_national": (
        "Resultatandel efter herkomst, hele landet (F5, F8)",
        "Result share by origin, whole country (F5, F8)",
    ),
    "chart_fsm2_multiples": (
        "Resultatandel pr. kommune (0–{y} %, stiplede linjer = {lo} % og {hi} %; ✓ = {hi} % opfyldt, (✓) = {lo} % opfyldt)",
        "Result share per municipality (0–{y} %, dashed lines = {lo} % and {hi} %; ✓ = {hi} % met, (✓) = {lo} % met)",
    ),
}

# F5's categories, in the order the report shows them ('ALL' is the total)
ORIGINS = ("DANSK", "VESTLIG", "IKKE_VESTLIG")
ORIGIN_LABELS: dict[str, tuple[str, str]] = {
    "ALL": ("Alle", "All"),
    "DANSK": ("Dansk", "Danish"),
    "VESTLIG": ("Vestlig", "Western"),
    "IKKE_VESTLIG": ("Ikke-vestlig", "Non-western"),
}
FSM2_COUNTS = ("target_n", "group2_n", "exempt_n", "indsatsgruppe_n", "active_n")
FSM2_CSV_COLUMNS = (
    ("kommune_kode", "Kommunekode"),
    ("kommune_navn", "Kommune"),
    ("threshold_pct", "Taerskel_pct"),
    ("met", "Opfyldt"),
    ("met_month", "Opfyldt_maaned"),
    ("basis", "Begrundelse"),
    ("indsatsgruppe_n", "Indsatsgruppe"),
    ("active_n", "Aktive"),
    ("share_pct", "Andel_pct"),
)

RULE_LABELS: dict[str, tuple[str, str]] = {
    "backdated_marking": ("Tilbagedateret markering (M3)", "Backdated marking (M3)"),
    "overlapping_group_marking": ("Overlappende gruppemarkeringer (M2)", "Overlapping group markings (M2)"),
    "duplicate_marking": ("Dobbelt markering (M6)", "Duplicate marking (M6)"),
    "invalid_period": ("Slutdato før startdato (M6)", "End date before start date (M6)"),
    "marking_outside_target_group": ("Markering uden for målgruppen (T2)", "Marking outside the target group (T2)"),
    "future_marking": ("Startdato efter udtræksdato", "Start date after the extract date"),
    "revalidering_without_group2": ("Revalidering uden gruppe 2", "Revalidering without group 2"),
    "fsm2_gr2_outside_target_group": ("FSM2 gruppe 2 uden for målgruppen (F7)", "FSM2 group 2 outside the target group (F7)"),
    "fritagelse_without_reason": ("Fritagelse uden årsag (F3)", "Exemption without a reason (F3)"),
}
SEVERITY = {"error": ("fejl", "error"), "warning": ("advarsel", "warning")}

# Rules.describe() speaks English; finance reads Danish. Unknown rows stay as they are.
DESCRIBE_DA = {
    "Projektstart / target group = FSM_BRUTTO in force on": "Projektstart: målgruppen er borgere med FSM_BRUTTO gældende pr.",
    "Visited citizens stay in the target group after FSM_BRUTTO ends": "Visiterede borgere bliver i målgruppen, når FSM_BRUTTO ophører",
    "Backdating grace (days)": "Tilladt tilbagedatering (dage)",
    "A backdated marking counts from its registration day; overlapping groups: the earlier ends when the later starts; invalid periods ignored": (
        "En tilbagedateret markering tæller fra registreringsdagen; overlappende grupper: den tidligste ophører, når den"
        " seneste starter; ugyldige perioder ignoreres"
    ),
    "Deferred visitation counts as accounted for": "Udskudt visitation tæller som afklaret",
    "Coverage required for tranche 2 (%)": "Krævet dækning for rate 2 (%)",
    "Offer types counted as company-directed effort": "Tilbudstyper der tæller som virksomhedsrettet indsats",
    "Activity share required (%)": "Krævet aktivitetsandel for rate 3 (%)",
    "Months running": "Antal måneder i træk",
    "Tranche split (%)": "Fordeling af rater (%)",
    "Pool split by target group at start when no allocation file (DKK)": "Pulje fordelt efter målgruppen ved start, når der ikke er en tildelingsfil (kr.)",
    "Tranche rounding": "Afrunding af rater",
    "As-of": "Opgørelsestidspunkt",
    "FSM2 minimum age (on the last day of the month)": "FSM2: minimumsalder (på månedens sidste dag)",
    "FSM2 thresholds (%)": "FSM2: tærskler (%)",
    "FSM2 period": "FSM2: periode",
    "FSM2 participating municipalities": "FSM2: deltagende kommuner",
    "FSM2 qualifying benefits": "FSM2: ydelser der giver adgang til målgruppen",
    "An exemption (FRITAGELSE) in force at month end removes the citizen from the indsatsgruppe that month": (
        "En fritagelse (FRITAGELSE) i kraft ved månedens udgang tager borgeren ud af indsatsgruppen den måned"
    ),
    "FSM2 groups are not locked: the group in force at month end counts": (
        "FSM2-grupper er ikke låst: gruppen i kraft ved månedens udgang tæller"
    ),
}
VALUE_DA = {
    "yes": "ja",
    "no": "nej",
    "fixed": "fast",
    "to the øre; the difference on tranche 3": "til øre; afrundingsdifferencen lægges på rate 3",
    "newest markings snapshot extracted by month end; register deliveries up to the month": (
        "nyeste markeringsudtræk trukket senest ved månedens udgang; registerleverancer til og med måneden"
    ),
}

_BASIS_DA = (
    (re.compile(r"^paid at project start \(P1\): (.+)$"), "udbetales ved projektstart (P1): {0}"),
    (re.compile(r"^coverage (\S+) % \(([\d,]+) of ([\d,]+)\) in (\d{4}-\d{2}) \(P2\)$"), "dækning {0} % ({1} af {2}) i {3} (P2)"),
    (
        re.compile(r"^no markings snapshot for (\d{4}-\d{2}) yet; needs coverage (\S+) % \(P2\)$"),
        "endnu intet markeringsudtræk for {0}; kræver dækning på {1} % (P2)",
    ),
    (
        re.compile(r"^coverage (\S+) % \(([\d,]+) of ([\d,]+)\) in (\d{4}-\d{2}); needs (\S+) % \(P2\)$"),
        "dækning {0} % ({1} af {2}) i {3}; kræver {4} % (P2)",
    ),
    (re.compile(r"^activity share ≥ (\S+) % in (.+) \((.+); P3\)$"), "aktivitetsandel ≥ {0} % i {1} ({2}; P3)"),
    (
        re.compile(r"^activity share (.+) in (.+); needs (\S+) % (\d+) months running \((\d+) of (\d+) met; P3\)$"),
        "aktivitetsandel {0} i {1}; kræver {2} % {3} måneder i træk ({4} af {5} opfyldt; P3)",
    ),
    (
        re.compile(r"^result share (\S+) % \(([\d,]+) of ([\d,]+)\) in (\d{4}-\d{2}) \(≥ (\S+) %, F8\)$"),
        "resultatandel {0} % ({1} af {2}) i {3} (≥ {4} %, F8)",
    ),
    (
        re.compile(r"^best result share (.+?) in (\d{4}-\d{2}); needs (\S+) % in one month \(F8\)$"),
        "bedste resultatandel {0} i {1}; kræver {2} % i én måned (F8)",
    ),
)
_GRANT_SOURCE_DA = (
    (re.compile(r"^allocation file \(reference/allocations\)$"), "tildelingsfil fra økonomi (reference/allocations)"),
    (re.compile(r"^allocation file: municipality missing, grant 0$"), "tildelingsfil: kommunen mangler i filen, tilskud 0"),
    (
        re.compile(r"^P4 default: ([\d,]+) DKK split by target group at start \(largest remainder\)$"),
        "P4 standard: {0} kr. fordelt efter målgruppen ved projektstart (største rest)",
    ),
)
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+")
_COUNT_PAIR = re.compile(r"\((\d[\d,.]*) (?:of|af) (\d[\d,.]*)\)")


def _da_numbers(text: str) -> str:
    """'24,000' -> '24.000', '66.67' -> '66,67' (English grouping to Danish)."""
    return _NUMBER.sub(lambda m: m.group(0).translate(str.maketrans(",.", ".,")), text)


def _translate(text: str | None, patterns, lang: str) -> str:
    if text is None:
        return ""
    if lang != "da":
        return text
    for rx, template in patterns:
        m = rx.match(text)
        if m:
            return _da_numbers(template.format(*m.groups())).replace("n/a", "i.t.")
    return text


def basis_text(text: str | None, lang: str) -> str:
    """The mart's basis sentence (English), in Danish when the report is Danish and the sentence is known."""
    return _translate(text, _BASIS_DA, lang)


def grant_source_text(text: str | None, lang: str) -> str:
    return _translate(text, _GRANT_SOURCE_DA, lang)


class Labels:
    def __init__(self, lang: str):
        self.lang = lang
        self._i = 1 if lang == "en" else 0

    def __call__(self, key: str, **kw: object) -> str:
        text = TEXT[key][self._i]
        return text.format(**kw) if kw else text

    def rule(self, rule_id: str) -> str:
        return RULE_LABELS.get(rule_id, (rule_id, rule_id))[self._i]

    def severity(self, sev: str | None) -> str:
        return SEVERITY.get(sev or "", (sev or "", sev or ""))[self._i]

    def origin(self, code: str) -> str:
        return ORIGIN_LABELS.get(code, (code, code))[self._i]

    def yes_no(self, flag: bool) -> str:
        return self("yes") if flag else self("no")

    # numbers as the reader's locale writes them (html and text cells)
    def money(self, v: Decimal | None) -> str:
        return "" if v is None else self._local(f"{v:,.2f}")

    def count(self, v: int | None) -> str:
        return "" if v is None else self._local(f"{v:,}")

    def pct(self, v: Decimal | None, places: int = 2) -> str:
        return "" if v is None else self._local(f"{v:,.{places}f}") + "\u00a0%"  # no break before the sign

    def month(self, m: date | None) -> str:
        return "" if m is None else months.label(m)

    def _local(self, s: str) -> str:
        return s.translate(str.maketrans(",.", ".,")) if self.lang == "da" else s

    def describe(self, setting: str, value: str) -> tuple[str, str]:
        if self.lang != "da":
            return setting, value
        v = VALUE_DA.get(value)
        if v is None:
            v = _da_numbers(value) if re.fullmatch(r"[\d,. /]+", value) else value
        return DESCRIBE_DA.get(setting, setting), v


# --------------------------------------------------------------------------------------- data


def tranche_rows(conn, month: date) -> list[dict[str, object]]:
    cur = conn.execute(
        "select kommune_kode, kommune_navn, tranche, tranche_pct, grant_dkk, amount_dkk, earned, earned_month, basis,"
        " grant_source from mart_tranche_status where as_of_month = %s and programme = 'FSM1'"
        " order by kommune_kode, tranche",
        (month,),
    )
    names = [d.name for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _dicts(cur) -> list[dict[str, object]]:
    names = [d.name for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@dataclass
class Kommune:
    kode: int
    navn: str
    grant: Decimal = ZERO
    grant_source: str = ""
    tranches: dict[int, dict[str, object]] = field(default_factory=dict)

    @property
    def earned(self) -> Decimal:
        return sum((t["amount_dkk"] for t in self.tranches.values() if t["earned"]), ZERO)

    @property
    def outstanding(self) -> Decimal:
        return sum((t["amount_dkk"] for t in self.tranches.values() if not t["earned"]), ZERO)


@dataclass
class Report:
    month: date
    prev_month: date
    lang: str
    rules: Rules
    generated_at: datetime
    tranches: list[dict[str, object]]
    prev_tranches: list[dict[str, object]]
    visitation: list[dict[str, object]]
    activity: list[dict[str, object]]
    dq_counts: list[tuple[int | None, str, int]]
    dq_new: list[tuple[int | None, str, int]]
    dq_resolved: dict[str, int]
    dq_history: list[tuple[date, str, int]]
    deliveries: list[dict[str, object]]
    run_log: list[dict[str, object]]
    names: dict[int, str]
    # FSM2 (mart_fsm2_result: every activity month and origin of the as-of run; mart_fsm2_requirement)
    fsm2_rows: list[dict[str, object]] = field(default_factory=list)
    fsm2_req: list[dict[str, object]] = field(default_factory=list)
    fsm2_prev_req: list[dict[str, object]] = field(default_factory=list)
    # derived in __post_init__
    kommuner: list[Kommune] = field(default_factory=list)
    activity_months: list[date] = field(default_factory=list)
    share: dict[tuple[int, date], dict[str, object]] = field(default_factory=dict)
    fsm2: dict[tuple[int, date, str], dict[str, object]] = field(default_factory=dict)
    fsm2_months: list[date] = field(default_factory=list)
    fsm2_codes: list[int] = field(default_factory=list)
    fsm2_origins: list[str] = field(default_factory=list)
    fsm2_thresholds: list[Decimal] = field(default_factory=list)
    fsm2_req_by: dict[tuple[int, Decimal], dict[str, object]] = field(default_factory=dict)
    small_counts: int = 0

    def __post_init__(self) -> None:
        by_code: dict[int, Kommune] = {}
        for r in self.tranches:
            k = by_code.setdefault(r["kommune_kode"], Kommune(r["kommune_kode"], r["kommune_navn"]))
            k.grant, k.grant_source = r["grant_dkk"], r["grant_source"]
            k.tranches[r["tranche"]] = r
        for r in self.visitation:
            by_code.setdefault(r["kommune_kode"], Kommune(r["kommune_kode"], r["kommune_navn"] or self.name(r["kommune_kode"])))
        for r in self.activity:
            if r["kommune_kode"] not in by_code:
                by_code[r["kommune_kode"]] = Kommune(r["kommune_kode"], self.name(r["kommune_kode"]))
            self.share[r["kommune_kode"], r["activity_month"]] = r
        self.kommuner = [by_code[c] for c in sorted(by_code)]
        self.activity_months = sorted({r["activity_month"] for r in self.activity})
        for r in self.fsm2_rows:
            self.fsm2[r["kommune_kode"], r["activity_month"], r["herkomst"]] = r
        self.fsm2_months = sorted({r["activity_month"] for r in self.fsm2_rows})
        self.fsm2_codes = sorted({r["kommune_kode"] for r in self.fsm2_rows} | {r["kommune_kode"] for r in self.fsm2_req})
        seen = {r["herkomst"] for r in self.fsm2_rows} - {"ALL"}
        self.fsm2_origins = [o for o in ORIGINS] + sorted(seen - set(ORIGINS)) if self.fsm2_rows else []
        self.fsm2_req_by = {(r["kommune_kode"], r["threshold_pct"]): r for r in self.fsm2_req}
        self.fsm2_thresholds = sorted({r["threshold_pct"] for r in self.fsm2_req} or set(self.rules.fsm2_thresholds_pct))
        self.small_counts = self._count_small()

    # -- lookups
    def name(self, kode: int | None) -> str:
        if kode is None:
            return Labels(self.lang)("unknown")
        return self.names.get(kode, str(kode))

    @property
    def label(self) -> str:
        return months.label(self.month)

    @property
    def prev_label(self) -> str:
        return months.label(self.prev_month)

    @property
    def dq_rules(self) -> list[str]:
        """DOMAIN's FSM1 marking rules, then any other rule with FSM1 findings in the warehouse."""
        seen = {r for _, r, _ in self.dq_counts} | {r for _, r, _ in self.dq_history} | {r for _, r, _ in self.dq_new}
        return list(DQ_RULES) + sorted(seen - set(DQ_RULES))

    # -- money (Decimal all the way)
    @property
    def due(self) -> list[dict[str, object]]:
        return [r for r in self.tranches if r["earned"] and r["earned_month"] == self.month]

    def totals(self) -> dict[str, Decimal]:
        granted = sum((k.grant for k in self.kommuner if k.tranches), ZERO)
        all_tranches = sum((r["amount_dkk"] for r in self.tranches), ZERO)
        earned = sum((r["amount_dkk"] for r in self.tranches if r["earned"]), ZERO)
        outstanding = sum((r["amount_dkk"] for r in self.tranches if not r["earned"]), ZERO)
        due = sum((r["amount_dkk"] for r in self.due), ZERO)
        return {"granted": granted, "tranches": all_tranches, "earned": earned, "outstanding": outstanding, "due": due}

    @property
    def reconciled(self) -> bool:
        """Totals agree, and every municipality's tranches add up to its grant exactly (P4)."""
        t = self.totals()
        per_kommune = all(
            sum((r["amount_dkk"] for r in k.tranches.values()), ZERO) == k.grant for k in self.kommuner if k.tranches
        )
        return per_kommune and t["granted"] == t["tranches"] == t["earned"] + t["outstanding"]

    def per_tranche(self) -> list[dict[str, object]]:
        out = []
        for n in sorted({r["tranche"] for r in self.tranches}):
            rows = [r for r in self.tranches if r["tranche"] == n]
            out.append(
                {
                    "tranche": n,
                    "pct": rows[0]["tranche_pct"],
                    "granted": sum((r["amount_dkk"] for r in rows), ZERO),
                    "earned": sum((r["amount_dkk"] for r in rows if r["earned"]), ZERO),
                    "outstanding": sum((r["amount_dkk"] for r in rows if not r["earned"]), ZERO),
                    "due": sum((r["amount_dkk"] for r in rows if r["earned"] and r["earned_month"] == self.month), ZERO),
                    "n_earned": sum(1 for r in rows if r["earned"]),
                    "n": len(rows),
                }
            )
        return out

    # -- since last month
    @property
    def has_prev(self) -> bool:
        return bool(self.prev_tranches)

    def _prev(self) -> dict[tuple[int, int], dict[str, object]]:
        return {(r["kommune_kode"], r["tranche"]): r for r in self.prev_tranches}

    def newly_earned(self) -> list[dict[str, object]]:
        if not self.has_prev:
            return self.due
        prev = self._prev()
        return [r for r in self.tranches if r["earned"] and not prev.get((r["kommune_kode"], r["tranche"]), {}).get("earned")]

    def no_longer_earned(self) -> list[dict[str, object]]:
        now = {(r["kommune_kode"], r["tranche"]): r for r in self.tranches}
        return [r for r in self.prev_tranches if r["earned"] and not now.get((r["kommune_kode"], r["tranche"]), {}).get("earned")]

    def amount_changes(self) -> list[tuple[dict[str, object], Decimal]]:
        prev = self._prev()
        out = []
        for r in self.tranches:
            p = prev.get((r["kommune_kode"], r["tranche"]))
            if p is not None and p["amount_dkk"] != r["amount_dkk"]:
                out.append((r, p["amount_dkk"]))
        return out

    # -- activity
    def national_share(self) -> list[tuple[date, int, int, Decimal | None]]:
        out = []
        for m in self.activity_months:
            cohort = sum(self.share[k.kode, m]["cohort_n"] for k in self.kommuner if (k.kode, m) in self.share)
            active = sum(self.share[k.kode, m]["active_n"] for k in self.kommuner if (k.kode, m) in self.share)
            out.append((m, cohort, active, (Decimal(100) * active / cohort).quantize(CENT) if cohort else None))
        return out

    # -- programmes present
    @property
    def has_fsm1(self) -> bool:
        return bool(self.tranches or self.visitation or self.activity)

    @property
    def has_fsm2(self) -> bool:
        return bool(self.fsm2_rows)

    @property
    def fsm1_period(self) -> tuple[date, date]:
        return self.rules.project_start, self.rules.project_last_month

    def fsm1_absent_text(self, t: Labels) -> str:
        """Why an FSM2 month shows no FSM1 figures: outside FSM1's period, or its run is missing."""
        a, b = self.fsm1_period
        if a <= self.month <= b:
            return t("fsm1_missing", m=self.label)
        return t("fsm1_ended", m=self.label, a=months.label(a), b=months.label(b))

    # -- FSM2
    def fsm2_at(self, kode: int, m: date | None = None, origin: str = "ALL") -> dict[str, object] | None:
        return self.fsm2.get((kode, m or self.month, origin))

    def fsm2_sum(self, m: date | None = None, origin: str = "ALL") -> dict[str, object]:
        """National counts (sum over the municipalities) and the share as Decimal 0–100, two decimals."""
        m = m or self.month
        out: dict[str, object] = dict.fromkeys(FSM2_COUNTS, 0)
        for k in self.fsm2_codes:
            r = self.fsm2.get((k, m, origin))
            if r:
                for c in FSM2_COUNTS:
                    out[c] += int(r[c])
        ind, act = out["indsatsgruppe_n"], out["active_n"]
        out["share_pct"] = (Decimal(100) * act / ind).quantize(CENT) if ind else None
        out["share"] = Decimal(act) / Decimal(ind) if ind else None  # the exact fraction (xlsx)
        return out

    def fsm2_n_met(self, threshold: Decimal) -> int:
        return sum(1 for (_, thr), r in self.fsm2_req_by.items() if thr == threshold and r["met"])

    @property
    def fsm2_has_prev(self) -> bool:
        return bool(self.fsm2_prev_req)

    def fsm2_newly_met(self) -> list[dict[str, object]]:
        """Requirements met as of this month that were not as of the previous month (all met this month if none)."""
        if not self.fsm2_has_prev:
            return [r for r in self.fsm2_req if r["met"] and r["met_month"] == self.month]
        prev = {(r["kommune_kode"], r["threshold_pct"]): r["met"] for r in self.fsm2_prev_req}
        return [r for r in self.fsm2_req if r["met"] and not prev.get((r["kommune_kode"], r["threshold_pct"]))]

    def _fsm2_counts(self) -> list[int]:
        """Every FSM2 count the report shows (xlsx, html, csv): as-of month by origin, the monthly
        indsatsgruppe and active counts, the national counts by origin, the counts in the basis sentences."""
        counts: list[int] = []
        shown_origins = ["ALL", *self.fsm2_origins]
        for k in self.fsm2_codes:
            for o in shown_origins:
                r = self.fsm2.get((k, self.month, o))
                if r:
                    counts.extend(int(r[c]) for c in FSM2_COUNTS)
            for m in self.fsm2_months:
                r = self.fsm2.get((k, m, "ALL"))
                if r and m != self.month:
                    counts.extend((int(r["indsatsgruppe_n"]), int(r["active_n"])))
        if self.fsm2_rows:
            for o in shown_origins:
                counts.extend(int(v) for c, v in self.fsm2_sum(self.month, o).items() if c in FSM2_COUNTS)
        for r in self.fsm2_req:
            for a, b in _COUNT_PAIR.findall(str(r["basis"])):
                counts.extend(int(re.sub(r"[,.]", "", x)) for x in (a, b))
        return counts

    # -- disclosure control
    def _count_small(self) -> int:
        limit = small_count_limit()
        counts: list[int] = self._fsm2_counts()
        for r in self.visitation:
            counts.extend(int(r[c]) for c in VISITATION_COUNTS)
        for r in self.activity:
            counts.extend((int(r["cohort_n"]), int(r["active_n"])))
        counts.extend(n for *_, n in self.dq_counts)
        counts.extend(n for *_, n in self.dq_new)
        for r in self.tranches:
            for a, b in _COUNT_PAIR.findall(str(r["basis"])):
                counts.extend(int(re.sub(r"[,.]", "", x)) for x in (a, b))
        return sum(1 for n in counts if 0 < n < limit)

    @property
    def internal(self) -> bool:
        return self.small_counts > 0

    @property
    def snapshot_dates(self) -> list[date]:
        found = {r["snapshot_date"] for r in self.visitation if r.get("snapshot_date")}
        found |= {r["snapshot_date"] for r in self.run_log if r.get("snapshot_date")}
        return sorted(found)

    @property
    def grant_sources(self) -> list[str]:
        return sorted({k.grant_source for k in self.kommuner if k.grant_source})


def collect(conn, month: date, lang: str | None = None) -> Report:
    """Everything the report shows, read in one transaction. Counts and amounts only."""
    from fsm.config import kommuner

    prev = (month.replace(day=1) - timedelta(days=1)).replace(day=1)
    p = {"m": month, "prev": prev, "last_day": months.last_day(month)}
    visitation = _dicts(
        conn.execute(
            "select kommune_kode, kommune_navn, target_n, visited_n, group1_n, group2_n, group3_n, deferred_n,"
            " unvisited_n, left_unvisited_n, coverage_pct, coverage_met, pjf_n, snapshot_date"
            " from mart_visitation_progress where as_of_month = %(m)s and programme = 'FSM1' order by kommune_kode",
            p,
        )
    )
    activity = _dicts(
        conn.execute(
            "select kommune_kode, activity_month, cohort_n, active_n, share_pct, meets_threshold"
            " from mart_activity_share where as_of_month = %(m)s and programme = 'FSM1'"
            " order by kommune_kode, activity_month",
            p,
        )
    )
    dq_counts = conn.execute(
        "select kommune_kode, rule_id, count(*)::int from dq_marking_violations"
        " where as_of_month = %(m)s group by 1, 2 order by 1, 2",
        p,
    ).fetchall()
    same = (  # DQ findings of both programmes: FSM2 rules have their own rule ids
        "q.as_of_month = %(other)s and q.programme = d.programme and q.rule_id = d.rule_id and q.marking_id = d.marking_id"
        " and q.other_marking_id = d.other_marking_id and q.person_key = d.person_key"
    )
    dq_new = conn.execute(
        "select d.kommune_kode, d.rule_id, count(*)::int from dq_marking_violations as d"
        " where d.as_of_month = %(m)s"
        f" and not exists (select 1 from dq_marking_violations as q where {same})"
        " group by 1, 2 order by 1, 2",
        {**p, "other": prev},
    ).fetchall()
    dq_resolved = dict(
        conn.execute(
            "select d.rule_id, count(*)::int from dq_marking_violations as d"
            " where d.as_of_month = %(prev)s"
            f" and not exists (select 1 from dq_marking_violations as q where {same})"
            " group by 1",
            {**p, "other": month},
        ).fetchall()
    )
    dq_history = conn.execute(
        "select as_of_month, rule_id, count(*)::int from dq_marking_violations"
        " where as_of_month <= %(m)s group by 1, 2 order by 1, 2",
        p,
    ).fetchall()
    deliveries = _dicts(
        conn.execute(
            "select feed, file_name, period, rows_read, rows_loaded, rows_rejected, loaded_at from ingest_file"
            " where period <= %(last_day)s order by feed, period, file_name, file_id",
            p,
        )
    )
    run_log = _dicts(
        conn.execute(
            "select programme, step, snapshot_file, snapshot_date, register_files, rows_written, finished_at from run_log"
            " where as_of_month = %(m)s and programme in ('FSM1', 'FSM2') order by programme, step",
            p,
        )
    )
    # FSM2: counts per municipality, activity month and origin as of M (≤ 31 × 36 × 4 rows), and the requirements
    fsm2_rows = _dicts(
        conn.execute(
            "select kommune_kode, activity_month, herkomst, target_n, group2_n, exempt_n, indsatsgruppe_n, active_n,"
            " share_pct from mart_fsm2_result where as_of_month = %(m)s order by kommune_kode, activity_month, herkomst",
            p,
        )
    )
    req_sql = (
        "select kommune_kode, threshold_pct, met, met_month, basis from mart_fsm2_requirement"
        " where as_of_month = %s order by kommune_kode, threshold_pct"
    )
    fsm2_req = _dicts(conn.execute(req_sql, (month,)))
    fsm2_prev_req = _dicts(conn.execute(req_sql, (prev,))) if fsm2_rows else []
    for lg in run_log:  # timestamps as finance reads them
        if lg["finished_at"] is not None:
            lg["finished_at"] = lg["finished_at"].astimezone(months.COPENHAGEN)
    names = dict(conn.execute("select kommune_kode, kommune_navn from ref_kommuner").fetchall()) or dict(kommuner())
    return Report(
        month=month,
        prev_month=prev,
        lang=lang or report_lang(),
        rules=rules(),
        generated_at=datetime.now(months.COPENHAGEN).replace(microsecond=0),
        tranches=tranche_rows(conn, month),
        prev_tranches=tranche_rows(conn, prev),
        visitation=visitation,
        activity=activity,
        dq_counts=[tuple(r) for r in dq_counts],
        dq_new=[tuple(r) for r in dq_new],
        dq_resolved=dq_resolved,
        dq_history=[tuple(r) for r in dq_history],
        deliveries=deliveries,
        run_log=run_log,
        names=names,
        fsm2_rows=fsm2_rows,
        fsm2_req=fsm2_req,
        fsm2_prev_req=fsm2_prev_req,
    )


# --------------------------------------------------------------------------------------- csv


def _danish(value: object) -> str:
    """Danish Excel: decimal comma, no thousands separator in data cells, dates ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, date):
        return value.strftime("%Y-%m")
    return str(value)


def write_csv(rows: list[dict[str, object]], columns=CSV_COLUMNS) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow([label for _, label in columns])
    for r in rows:
        w.writerow([_danish(r[key]) for key, _ in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def fsm2_csv_rows(rep: Report) -> list[dict[str, object]]:
    """fsm2_result.csv: one row per municipality and threshold, with the as-of month's indsatsgruppe, active and share."""
    out = []
    for k in rep.fsm2_codes:
        r = rep.fsm2_at(k) or {}
        for thr in rep.fsm2_thresholds:
            q = rep.fsm2_req_by.get((k, thr)) or {}
            out.append(
                {
                    "kommune_kode": k,
                    "kommune_navn": rep.name(k),
                    "threshold_pct": Decimal(thr).quantize(CENT),
                    "met": q.get("met"),
                    "met_month": q.get("met_month"),
                    "basis": basis_text(q.get("basis"), rep.lang) if q else "",
                    "indsatsgruppe_n": r.get("indsatsgruppe_n"),
                    "active_n": r.get("active_n"),
                    "share_pct": r.get("share_pct"),
                }
            )
    return out


def csv_rows(rep: Report) -> list[dict[str, object]]:
    """The tranche rows with basis and grant source in the report's language."""
    return [
        {**r, "basis": basis_text(r["basis"], rep.lang), "grant_source": grant_source_text(r["grant_source"], rep.lang)}
        for r in rep.tranches
    ]


# --------------------------------------------------------------------------------------- xlsx


@dataclass
class Col:
    header: str
    kind: str = "text"  # text | int | money | pct (a fraction) | pct100 (0–100) | month | datetime
    total: str | None = None  # "sum": a =SUM() totals cell
    width: float | None = None
    wrap: int | None = None  # text: wrap at this many characters instead of widening the column


@dataclass
class Placed:
    """Where a table landed: 0-based rows, for formulas in other sheets."""

    sheet: str
    header_row: int
    first_row: int
    last_row: int
    total_row: int | None


def _col(i: int) -> str:
    from xlsxwriter.utility import xl_col_to_name

    return xl_col_to_name(i)


NUM_FORMATS = {
    "int": "#,##0",
    "money": "#,##0.00",
    "pct": "0.00%",
    "pct100": '0.00" %"',
    "month": "yyyy-mm",
    "datetime": "yyyy-mm-dd hh:mm",
}


class _Book:
    def __init__(self, path: Path, rep: Report, t: Labels):
        import xlsxwriter

        self.rep, self.t = rep, t
        self.wb = xlsxwriter.Workbook(str(path), {"default_date_format": "yyyy-mm-dd", "remove_timezone": True})
        self.wb.set_properties(
            {
                "title": f"{t('title')} {rep.label}",
                "subject": " · ".join(
                    ([t("programme")] if rep.has_fsm1 or not rep.has_fsm2 else []) + ([t("programme2")] if rep.has_fsm2 else [])
                ),
                "company": "STAR",
                "keywords": "INTERN" if rep.internal else "",
                "comments": t("internal", m=small_count_limit() - 1) if rep.internal else "",
                "created": rep.generated_at.replace(tzinfo=None),
            }
        )
        wb = self.wb
        base = {"font_name": "Calibri", "font_size": 10, "valign": "top"}
        self.f = {
            "title": wb.add_format({**base, "bold": True, "font_size": 14}),
            "note": wb.add_format({**base, "italic": True, "font_color": "#555555"}),
            "banner": wb.add_format({**base, "bold": True, "font_color": "#FFFFFF", "bg_color": "#B00020"}),
            "warn": wb.add_format({**base, "bold": True, "font_color": "#B00020"}),
            "header": wb.add_format(
                {**base, "bold": True, "bg_color": "#DDE4EE", "bottom": 1, "text_wrap": True, "valign": "bottom"}
            ),
            "header_num": wb.add_format(
                {
                    **base,
                    "bold": True,
                    "bg_color": "#DDE4EE",
                    "bottom": 1,
                    "text_wrap": True,
                    "valign": "bottom",
                    "align": "right",
                }
            ),
            "text": wb.add_format(base),
            "wrap": wb.add_format({**base, "text_wrap": True}),
            "total_text": wb.add_format({**base, "bold": True, "top": 1}),
            "good": wb.add_format({"bg_color": "#D7EFD9", "font_color": "#1E5E24"}),
            "fair": wb.add_format({"bg_color": "#EEF8E6", "font_color": "#3D7A2A"}),
        }
        for kind, num in NUM_FORMATS.items():
            self.f[kind] = wb.add_format({**base, "num_format": num})
            self.f["total_" + kind] = wb.add_format({**base, "num_format": num, "bold": True, "top": 1})

    def close(self) -> None:
        self.wb.close()

    def _display_len(self, kind: str, v: object) -> int:
        if v is None:
            return 0
        if kind == "money":
            return len(f"{v:,.2f}")
        if kind == "int":
            return len(f"{v:,}") if isinstance(v, int) else len(str(v))
        if kind in ("pct", "pct100"):
            return 9
        if kind == "month":
            return 7 if isinstance(v, date) else len(str(v))
        if kind == "datetime":
            return 16
        return max((len(x) for x in str(v).split("\n")), default=0)

    def _write(self, ws, row: int, col: int, kind: str, v: object, fmt_key: str | None = None) -> None:
        fmt = self.f[fmt_key or kind]
        if v is None:
            ws.write_blank(row, col, None, fmt)
        elif isinstance(v, bool):
            ws.write_string(row, col, self.t.yes_no(v), self.f["text"])
        elif isinstance(v, (Decimal, int, float)) and kind not in ("text",):
            ws.write_number(row, col, float(v), fmt)  # a float only here, at the very end (money is Decimal until now)
        elif isinstance(v, datetime) and kind in ("datetime", "month"):
            ws.write_datetime(row, col, v.replace(tzinfo=None), fmt)
        elif isinstance(v, date) and kind in ("month", "datetime"):
            ws.write_datetime(row, col, datetime(v.year, v.month, v.day), fmt)
        else:
            ws.write_string(row, col, str(v), self.f["text"])

    def table(
        self,
        name: str,
        title: str,
        notes: list[str],
        cols: list[Col],
        rows: list[list[object]],
        *,
        freeze_cols: int = 2,
        total_label_col: int = 0,
        custom_totals=None,  # (first, last, total_row) 0-based -> {col: (formula, cached Decimal value)}
        total_label: str | None = None,
        good_cells: tuple[int, int, Decimal] | None = None,
        bands: tuple[int, int, list[tuple[Decimal, str]]] | None = None,  # (first col, last col, [(at least, format)])
        extra_totals=None,  # (first, last, total_row) 0-based -> rows below the totals row: [{col: text | (formula, value) | number}]
        programme: str | None = None,
    ) -> Placed:
        """One sheet: title, banner, notes, a header row (frozen, autofiltered), data, a totals row."""
        rep, t = self.rep, self.t
        programme = programme or t("programme")
        ws = self.wb.add_worksheet(name)
        ws.hide_gridlines(2)
        r = 0
        ws.write_string(r, 0, title, self.f["title"])
        r += 1
        if rep.internal:
            ws.write_string(r, 0, t("internal", m=small_count_limit() - 1), self.f["banner"])
            r += 1
        sub = f"{programme} · {t('as_of')} {rep.label}"
        if rep.snapshot_dates:
            sub += f" · {t('snapshot')} {', '.join(d.isoformat() for d in rep.snapshot_dates)}"
        ws.write_string(r, 0, sub, self.f["note"])
        r += 1
        for n in notes:
            ws.write_string(
                r,
                0,
                n,
                self.f["warn"] if n.startswith(("ADVARSEL", "WARNING", "AFSTEMNINGSFEJL", "RECONCILIATION")) else self.f["note"],
            )
            r += 1
        r += 1
        header_row = r
        widths = []
        max_lines = 1
        for c, col in enumerate(cols):
            ws.write_string(header_row, c, col.header, self.f["header" if col.kind == "text" else "header_num"])
            data_len = max((self._display_len(col.kind, row[c]) for row in rows), default=0)
            word = max(len(w) for w in col.header.split())
            width = col.width or min(max(data_len, word, 6) + 2, col.wrap or 120)
            widths.append(width)
            max_lines = max(max_lines, math.ceil(len(col.header) / max(width - 1, 1)))
            ws.set_column(c, c, width)
        ws.set_row(header_row, 14 * max_lines)
        first = header_row + 1
        for i, row in enumerate(rows):
            for c, col in enumerate(cols):
                if col.wrap and isinstance(row[c], str):
                    ws.write_string(first + i, c, row[c], self.f["wrap"])  # Excel fits the row height when opening
                else:
                    self._write(ws, first + i, c, col.kind, row[c])
        last = first + max(len(rows), 1) - 1
        total_row = None
        if any(col.total for col in cols) or custom_totals:
            total_row = last + 1
            custom = custom_totals(first, last, total_row) if custom_totals else {}
            ws.write_string(total_row, total_label_col, total_label or t("total"), self.f["total_text"])
            for c, col in enumerate(cols):
                if c == total_label_col:
                    continue
                if c in custom and isinstance(custom[c], str):
                    ws.write_string(total_row, c, custom[c], self.f["total_text"])
                elif c in custom:
                    formula, value = custom[c]
                    ws.write_formula(total_row, c, formula, self.f["total_" + col.kind], _cached(value))
                elif col.total == "sum":
                    value = sum(
                        (Decimal(row[c]) if isinstance(row[c], (int, Decimal)) else Decimal(0) for row in rows), Decimal(0)
                    )
                    ref = f"{_col(c)}{first + 1}:{_col(c)}{last + 1}"
                    ws.write_formula(total_row, c, f"=SUM({ref})", self.f["total_" + col.kind], _cached(value))
                else:
                    ws.write_blank(total_row, c, None, self.f["total_text"])
            for i, extra in enumerate(extra_totals(first, last, total_row) if extra_totals else []):
                row = total_row + 1 + i
                for c, col in enumerate(cols):
                    v = extra.get(c)
                    if isinstance(v, tuple):
                        ws.write_formula(row, c, v[0], self.f["total_" + col.kind], _cached(v[1]))
                    elif isinstance(v, str):
                        ws.write_string(row, c, v, self.f["total_text"])
                    elif v is None:
                        ws.write_blank(row, c, None, self.f["total_text"])
                    else:
                        ws.write_number(row, c, float(v), self.f["total_" + col.kind])
        ws.freeze_panes(header_row + 1, freeze_cols)
        ws.autofilter(header_row, 0, last, len(cols) - 1)
        if good_cells is not None:
            c0, c1, threshold = good_cells
            ws.conditional_format(
                first, c0, last, c1, {"type": "cell", "criteria": ">=", "value": float(threshold), "format": self.f["good"]}
            )
        if bands is not None:  # highest first: a cell takes the first band it reaches
            c0, c1, levels = bands
            for at_least, fmt in sorted(levels, key=lambda x: x[0], reverse=True):
                ws.conditional_format(
                    first,
                    c0,
                    last,
                    c1,
                    {"type": "cell", "criteria": ">=", "value": float(at_least), "format": self.f[fmt], "stop_if_true": True},
                )
        # print: A4 landscape, one page wide, header row repeated, INTERN in the page header
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(header_row)
        left = ('&L&"-,Bold"&KB00020' + _hf(t("internal", m=small_count_limit() - 1))) if rep.internal else "&L" + _hf(programme)
        ws.set_header(left + "&R" + _hf(f"{title} · {rep.label}"))
        ws.set_footer("&L" + _hf(f"{t('generated')} {rep.generated_at:%Y-%m-%d %H:%M}") + "&R&P / &N")
        return Placed(name, header_row, first, last, total_row)


def _hf(text: str) -> str:
    """Header/footer text: '&' is a control character there."""
    return text.replace("&", "&&")


def _cached(value: Decimal | None) -> object:
    if value is None:
        return ""
    return float(value)


def write_xlsx(rep: Report, path: Path) -> list[str]:
    """FSM1's sheets, FSM2's sheets when the month has FSM2 figures, then data quality, rules and deliveries.

    A month with FSM2 figures and none of FSM1 (FSM1 ended 2019-12) gets one 'FSM1' sheet saying so
    instead of FSM1 sheets with empty tables; a month with neither keeps FSM1's sheets, which say so.
    """
    t = Labels(rep.lang)
    b = _Book(path, rep, t)
    fsm1 = rep.has_fsm1 or not rep.has_fsm2
    if fsm1:
        _xlsx_fsm1(b, rep, t)
    if rep.has_fsm2:
        _xlsx_fsm2(b, rep, t)
    if not fsm1:
        a, z = rep.fsm1_period
        b.table(
            t("sh_fsm1"),
            t("s_fsm1"),
            [],
            [Col(t("programme_col"), width=12), Col(t("period"), width=20), Col(t("status"), wrap=100)],
            [["FSM1", f"{months.label(a)} – {months.label(z)}", rep.fsm1_absent_text(t)]],
            freeze_cols=0,
        )
    if fsm1 or rep.dq_counts or rep.dq_history:
        _xlsx_dq(b, rep, t)
    _xlsx_basis(b, rep, t)
    names = [ws.get_name() for ws in b.wb.worksheets()]
    b.close()
    return names


def _xlsx_fsm1(b: _Book, rep: Report, t: Labels) -> None:
    tot = rep.totals()
    prev_note = [] if rep.has_prev else [t("n_no_prev", p=rep.prev_label, m=rep.label)]
    recon = [t("reconcile_ok")] if rep.reconciled else [t("reconcile_bad", a=t.money(tot["granted"]), b=t.money(tot["tranches"]))]
    if not rep.tranches:
        recon = [t("no_data", m=rep.label)]

    def tranche_line(r: dict[str, object]) -> list[object]:
        return [
            r["kommune_kode"],
            r["kommune_navn"],
            r["tranche"],
            r["tranche_pct"] / 100,
            r["amount_dkk"],
            r["earned_month"],
            basis_text(r["basis"], rep.lang),
        ]

    tranche_cols = [
        Col(t("kode"), "int", width=12),
        Col(t("kommune")),
        Col(t("tranche"), "int", width=7),
        Col(t("tranche_pct"), "pct"),
        Col(t("amount"), "money", "sum"),
        Col(t("earned_month"), "month", width=10),
        Col(t("basis")),
    ]
    # 1. payments due
    due = [tranche_line(r) for r in rep.due] or [[None, t("s_due_none", m=rep.label), None, None, None, None, None]]
    b.table(t("sh_due"), t("s_due", m=rep.label), [t("n_due", m=rep.label)], tranche_cols, due)

    # 2. status per municipality (wide)
    cols = [Col(t("kode"), "int", width=12), Col(t("kommune")), Col(t("grant"), "money", "sum")]
    for n in (1, 2, 3):
        cols += [Col(t("tranche_n", n=n), "money", "sum"), Col(t("tranche_n_earned", n=n), "month", width=10)]
    cols += [
        Col(t("earned_to_date"), "money", "sum"),
        Col(t("outstanding"), "money", "sum"),
        Col(t("basis_n", n=2)),
        Col(t("basis_n", n=3)),
        Col(t("grant_source")),
    ]
    rows = []
    for k in rep.kommuner:
        if not k.tranches:
            continue
        line: list[object] = [k.kode, k.navn, k.grant]
        for n in (1, 2, 3):
            tr = k.tranches.get(n)
            line += [
                tr["amount_dkk"] if tr else None,
                (tr["earned_month"] if tr and tr["earned"] else t("not_earned")) if tr else None,
            ]
        line += [
            k.earned,
            k.outstanding,
            basis_text(k.tranches.get(2, {}).get("basis"), rep.lang),
            basis_text(k.tranches.get(3, {}).get("basis"), rep.lang),
            grant_source_text(k.grant_source, rep.lang),
        ]
        rows.append(line)
    b.table(t("sh_status"), t("s_status"), [t("n_status"), *recon], cols, rows)

    # 3. totals per tranche
    cols = [
        Col(t("tranche"), "int", width=8),
        Col(t("tranche_pct"), "pct"),
        Col(t("granted"), "money", "sum"),
        Col(t("earned_to_date"), "money", "sum"),
        Col(t("outstanding"), "money", "sum"),
        Col(t("due_now"), "money", "sum"),
        Col(t("n_earned"), "int"),
        Col(t("n_kommuner"), "int"),
    ]
    rows = [
        [p["tranche"], p["pct"] / 100, p["granted"], p["earned"], p["outstanding"], p["due"], p["n_earned"], p["n"]]
        for p in rep.per_tranche()
    ]
    b.table(t("sh_totals"), t("s_totals"), recon, cols, rows, freeze_cols=1)

    # 4. detail, as the csv
    cols = [
        Col(t("kode"), "int", width=12),
        Col(t("kommune")),
        Col(t("tranche"), "int", width=7),
        Col(t("tranche_pct"), "pct"),
        Col(t("grant"), "money"),
        Col(t("amount"), "money", "sum"),
        Col(t("earned")),
        Col(t("earned_month"), "month", width=10),
        Col(t("basis")),
        Col(t("grant_source")),
    ]
    rows = [
        [
            r["kommune_kode"],
            r["kommune_navn"],
            r["tranche"],
            r["tranche_pct"] / 100,
            r["grant_dkk"],
            r["amount_dkk"],
            t.yes_no(r["earned"]),
            r["earned_month"],
            basis_text(r["basis"], rep.lang),
            grant_source_text(r["grant_source"], rep.lang),
        ]
        for r in rep.tranches
    ]
    b.table(t("sh_detail"), t("sh_detail"), [t("n_detail")], cols, rows)

    # 5. what changed: newly earned tranches, new DQ findings
    notes = [t("n_new", m=rep.label, p=rep.prev_label), *prev_note]
    lost = rep.no_longer_earned()
    if lost:
        notes.append(t("n_lost", p=rep.prev_label, m=rep.label, x=", ".join(f"{r['kommune_navn']} {r['tranche']}" for r in lost)))
    for r, before in rep.amount_changes():
        notes.append(
            f"{t('n_amount_changed', p=rep.prev_label)}: {r['kommune_navn']}, {t('tranche')} {r['tranche']}: "
            f"{t.money(before)} → {t.money(r['amount_dkk'])}"
        )
    new = [tranche_line(r) for r in rep.newly_earned()] or [[None, t("n_none_new"), None, None, None, None, None]]
    b.table(t("sh_new"), t("s_changes", p=rep.prev_label), notes, tranche_cols, new)

    rules_, dq_cols = rep.dq_rules, _dq_cols(rep, t)
    new_by: dict[int | None, dict[str, int]] = {}
    for kode, rule, n in rep.dq_new:
        new_by.setdefault(kode, {})[rule] = n
    rows = [
        [kode, rep.name(kode), *(by.get(r, 0) for r in rules_), sum(by.values())]
        for kode, by in sorted(new_by.items(), key=_none_first)
    ]
    cols = [*dq_cols, Col(t("total"), "int", "sum", width=8)]
    b.table(
        t("sh_dq_new"),
        t("new_findings") + f" · {rep.label}",
        [t("n_dq_new", m=rep.label, p=rep.prev_label)],
        cols,
        rows or [[None, t("n_none_dq_new"), *([None] * (len(rules_) + 1))]],
    )

    # 6. visitation
    vcols = [Col(t("kode"), "int", width=12), Col(t("kommune"))] + [Col(t(c), "int", "sum") for c in VISITATION_COUNTS[:-1]]
    vcols += [Col(t("coverage"), "pct"), Col(t("coverage_met")), Col(t("pjf_n"), "int", "sum")]
    rows = [
        [
            v["kommune_kode"],
            v["kommune_navn"],
            *(v[c] for c in VISITATION_COUNTS[:-1]),
            None if v["coverage_pct"] is None else v["coverage_pct"] / 100,
            t.yes_no(v["coverage_met"]),
            v["pjf_n"],
        ]
        for v in rep.visitation
    ]
    target_c, visited_c, deferred_c, cov_c = 2, 3, 7, 2 + len(VISITATION_COUNTS) - 1
    tsum = {c: sum(v[c] for v in rep.visitation) for c in VISITATION_COUNTS}
    accounted = tsum["visited_n"] + (tsum["deferred_n"] if rep.rules.deferred_counts_as_visited else 0)
    cov_value = Decimal(accounted) / Decimal(tsum["target_n"]) if tsum["target_n"] else None

    def coverage_total(first: int, last: int, total_row: int) -> dict[int, tuple[str, Decimal | None]]:
        T, V, D = (f"{_col(c)}{total_row + 1}" for c in (target_c, visited_c, deferred_c))
        num = f"({V}+{D})" if rep.rules.deferred_counts_as_visited else V
        return {cov_c: (f'=IF({T}=0,"",{num}/{T})', cov_value)}

    b.table(t("sh_visitation"), t("s_visitation"), [t("n_coverage")], vcols, rows, custom_totals=coverage_total)

    # 7. activity share, months as columns; 8./9. the counts behind it, same layout
    ms = rep.activity_months
    kom = [k for k in rep.kommuner if any((k.kode, m) in rep.share for m in ms)]
    month_cols = [Col(months.label(m), "pct", width=9) for m in ms]
    threshold = rep.rules.activity_threshold_pct
    cohort_rows = [[k.kode, k.navn, *(rep.share.get((k.kode, m), {}).get("cohort_n") for m in ms)] for k in kom]
    active_rows = [[k.kode, k.navn, *(rep.share.get((k.kode, m), {}).get("active_n") for m in ms)] for k in kom]
    share_rows = [[k.kode, k.navn, *(_share_fraction(rep.share.get((k.kode, m))) for m in ms)] for k in kom]
    count_cols = [Col(t("kode"), "int", width=12), Col(t("kommune"))] + [Col(months.label(m), "int", "sum", width=9) for m in ms]
    share_sheet, active_sheet, cohort_sheet = t("sh_share"), t("sh_active"), t("sh_cohort")
    national = {m: (c, a) for m, c, a, _ in rep.national_share()}

    def national_total(first: int, last: int, total_row: int) -> dict[int, tuple[str, Decimal | None]]:
        # the three sheets share one layout, so the totals rows of 'Aktive' and 'Indsatsgruppe' are this row
        out = {}
        for i, m in enumerate(ms):
            ref = f"{_col(2 + i)}{total_row + 1}"
            c, a = national[m]
            out[2 + i] = (
                f"=IF('{cohort_sheet}'!{ref}=0,\"\",'{active_sheet}'!{ref}/'{cohort_sheet}'!{ref})",
                Decimal(a) / Decimal(c) if c else None,
            )
        return out

    b.table(
        share_sheet,
        t("s_activity"),
        [t("n_share", t=_plain(threshold))],
        [Col(t("kode"), "int", width=12), Col(t("kommune")), *month_cols],
        share_rows,
        custom_totals=national_total,
        total_label=t("country"),
        total_label_col=1,
        good_cells=(2, 1 + len(ms), threshold / 100) if ms else None,
    )
    b.table(
        active_sheet,
        t("active_n") + " · " + t("s_activity"),
        [t("n_share", t=_plain(threshold))],
        count_cols,
        active_rows,
        total_label_col=1,
    )
    b.table(
        cohort_sheet,
        t("cohort_n") + " · " + t("s_activity"),
        [t("n_share", t=_plain(threshold))],
        count_cols,
        cohort_rows,
        total_label_col=1,
    )


def _xlsx_fsm2(b: _Book, rep: Report, t: Labels) -> None:
    """FSM2 resultat (as-of month + requirements), FSM2 andel over months with the count sheets behind
    its national row, FSM2 herkomst (by origin, national rows as SUMIFS over the municipalities)."""
    prog = t("programme2")
    thresholds = rep.fsm2_thresholds
    lo, hi = thresholds[0], thresholds[-1]
    levels = [(hi / 100, "good")] + ([(lo / 100, "fair")] if lo != hi else [])
    codes = rep.fsm2_codes
    ms = rep.fsm2_months
    m0 = rep.month

    # FSM2 resultat: one row per municipality, the as-of month's counts and every threshold's requirement
    cols = [Col(t("kode"), "int", width=12), Col(t("kommune"))]
    cols += [Col(t(c), "int", "sum") for c in ("target_n", "group2_n", "exempt_n", "cohort_n", "active_n")]
    cols += [Col(t("result_share"), "pct")]
    for thr in thresholds:
        cols += [
            Col(t("req_met", t=_plain(thr)), width=10),
            Col(t("req_month", t=_plain(thr)), "month", width=10),
            Col(t("req_basis", t=_plain(thr))),
        ]
    rows = []
    for k in codes:
        r = rep.fsm2_at(k) or {}
        line: list[object] = [k, rep.name(k), *(r.get(c) for c in FSM2_COUNTS), _fsm2_fraction(r)]
        for thr in thresholds:
            q = rep.fsm2_req_by.get((k, thr))
            line += [
                t.yes_no(q["met"]) if q else None,
                q["met_month"] if q else None,
                basis_text(q["basis"], rep.lang) if q else None,
            ]
        rows.append(line)
    nat = rep.fsm2_sum()
    share_c = 2 + len(FSM2_COUNTS)

    def result_totals(first: int, last: int, total_row: int) -> dict[int, tuple[str, Decimal | None]]:
        ind, act = (f"{_col(c)}{total_row + 1}" for c in (5, 6))
        out = {share_c: (f'=IF({ind}=0,"",{act}/{ind})', nat["share"])}
        for i, thr in enumerate(thresholds):
            c = share_c + 1 + 3 * i
            rng = f"{_col(c)}{first + 1}:{_col(c)}{last + 1}"
            out[c] = (f'=COUNTIF({rng},"{t("yes")}")', Decimal(rep.fsm2_n_met(thr)))
        return out

    b.table(
        t("sh_fsm2"),
        t("s_fsm2_table", m=rep.label),
        [t("n_fsm2", lo=_plain(lo), hi=_plain(hi))],
        cols,
        rows,
        custom_totals=result_totals,
        total_label=t("country"),
        total_label_col=1,
        bands=(share_c, share_c, levels),
        programme=prog,
    )

    # FSM2 andel: months as columns; the count sheets share its layout, so its national row is a formula over them
    share_sheet, active_sheet, cohort_sheet = t("sh_fsm2_share"), t("sh_fsm2_active"), t("sh_fsm2_cohort")
    month_cols = [Col(months.label(m), "pct", width=9) for m in ms]
    count_cols = [Col(t("kode"), "int", width=12), Col(t("kommune"))] + [Col(months.label(m), "int", "sum", width=9) for m in ms]
    share_rows = [[k, rep.name(k), *(_fsm2_fraction(rep.fsm2_at(k, m)) for m in ms)] for k in codes]
    active_rows = [[k, rep.name(k), *((rep.fsm2_at(k, m) or {}).get("active_n") for m in ms)] for k in codes]
    cohort_rows = [[k, rep.name(k), *((rep.fsm2_at(k, m) or {}).get("indsatsgruppe_n") for m in ms)] for k in codes]
    national = {m: rep.fsm2_sum(m) for m in ms}

    def national_total(first: int, last: int, total_row: int) -> dict[int, tuple[str, Decimal | None]]:
        out = {}
        for i, m in enumerate(ms):
            ref = f"{_col(2 + i)}{total_row + 1}"
            out[2 + i] = (
                f"=IF('{cohort_sheet}'!{ref}=0,\"\",'{active_sheet}'!{ref}/'{cohort_sheet}'!{ref})",
                national[m]["share"],
            )
        return out

    note = [t("n_fsm2_share", lo=_plain(lo), hi=_plain(hi))]
    placed = b.table(
        share_sheet,
        t("result_share") + " · " + prog,
        note,
        [Col(t("kode"), "int", width=12), Col(t("kommune")), *month_cols],
        share_rows,
        custom_totals=national_total,
        total_label=t("country"),
        total_label_col=1,
        bands=(2, 1 + len(ms), levels) if ms else None,
        programme=prog,
    )
    for sheet, label, rows_ in ((active_sheet, "active_n", active_rows), (cohort_sheet, "cohort_n", cohort_rows)):
        b.table(sheet, t(label) + " · " + prog, note, count_cols, rows_, total_label_col=1, programme=prog)

    # FSM2 herkomst: municipality × origin for the as-of month, the share over time in the month columns;
    # the national rows below: all origins (SUM), then each origin (SUMIFS on the origin column)
    origins = rep.fsm2_origins
    cols = [Col(t("kode"), "int", width=12), Col(t("kommune")), Col(t("herkomst"))]
    cols += [Col(t(c), "int", "sum") for c in ("target_n", "group2_n", "exempt_n", "cohort_n", "active_n")]
    cols += [Col(f"{t('result_share')} {rep.label}", "pct", width=11)]
    cols += [Col(months.label(m), "pct", width=9) for m in ms]
    share_c = 3 + len(FSM2_COUNTS)
    rows = []
    for k in codes:
        for o in origins:
            r = rep.fsm2_at(k, m0, o)
            counts = [(r or {}).get(c, 0) for c in FSM2_COUNTS]
            rows.append(
                [k, rep.name(k), t.origin(o), *counts, _fsm2_fraction(r), *(_fsm2_fraction(rep.fsm2_at(k, m, o)) for m in ms)]
            )

    def origin_totals(first: int, last: int, total_row: int) -> dict[int, tuple[str, Decimal | None]]:
        ind, act = (f"{_col(c)}{total_row + 1}" for c in (6, 7))
        out: dict[int, object] = {2: t.origin("ALL"), share_c: (f'=IF({ind}=0,"",{act}/{ind})', nat["share"])}
        for i, m in enumerate(ms):
            ref = f"'{share_sheet}'!{_col(2 + i)}{placed.total_row + 1}"
            out[share_c + 1 + i] = (f"={ref}", national[m]["share"])
        return out

    def origin_rows(first: int, last: int, total_row: int) -> list[dict[int, object]]:
        out = []
        for i, o in enumerate(origins):
            row = total_row + 1 + i
            sums = rep.fsm2_sum(m0, o)
            crit = f"$C${first + 1}:$C${last + 1},$C{row + 1}"
            line: dict[int, object] = {1: t("country"), 2: t.origin(o)}
            for j, c in enumerate(FSM2_COUNTS):
                col = _col(3 + j)
                line[3 + j] = (f"=SUMIFS({col}{first + 1}:{col}{last + 1},{crit})", Decimal(sums[c]))
            ind, act = f"G{row + 1}", f"H{row + 1}"
            line[share_c] = (f'=IF({ind}=0,"",{act}/{ind})', sums["share"])
            for j, m in enumerate(ms):
                line[share_c + 1 + j] = rep.fsm2_sum(m, o)["share"]
            out.append(line)
        return out

    b.table(
        t("sh_fsm2_origin"),
        t("s_fsm2_origin"),
        [t("n_fsm2_origin", m=rep.label)],
        cols,
        rows,
        custom_totals=origin_totals,
        extra_totals=origin_rows,
        total_label=t("country"),
        total_label_col=1,
        bands=(share_c, share_c + len(ms), levels),
        freeze_cols=3,
        programme=prog,
    )


def _fsm2_fraction(r: dict[str, object] | None) -> Decimal | None:
    if not r or not r.get("indsatsgruppe_n"):
        return None
    return Decimal(r["active_n"]) / Decimal(r["indsatsgruppe_n"])


def _dq_cols(rep: Report, t: Labels) -> list[Col]:
    return [Col(t("kode"), "int", width=12), Col(t("kommune"))] + [
        Col(r, "int", "sum", width=max(12, min(len(r), 18))) for r in rep.dq_rules
    ]


def _xlsx_dq(b: _Book, rep: Report, t: Labels) -> None:
    rules_, dq_cols = rep.dq_rules, _dq_cols(rep, t)
    # 10. data quality per municipality; 11. by month
    by: dict[int | None, dict[str, int]] = {k.kode: {} for k in rep.kommuner}
    for kode, rule, n in rep.dq_counts:
        by.setdefault(kode, {})[rule] = n
    new_total: dict[int | None, int] = {}
    for kode, _, n in rep.dq_new:
        new_total[kode] = new_total.get(kode, 0) + n
    cols = [*dq_cols, Col(t("total"), "int", "sum", width=8), Col(t("new_findings"), "int", "sum")]
    rows = [
        [kode, rep.name(kode), *(d.get(r, 0) for r in rules_), sum(d.values()), new_total.get(kode, 0)]
        for kode, d in sorted(by.items(), key=_none_first)
    ]
    sev = rep.rules.dq_severity
    legend = "; ".join(f"{r} = {t.rule(r)} ({t.severity(sev.get(r))})" for r in rules_)
    b.table(t("sh_dq"), t("s_dq") + f" · {rep.label}", [t("n_dq"), legend], cols, rows)

    hist_months = sorted({m for m, _, _ in rep.dq_history})
    counts = {(m, r): n for m, r, n in rep.dq_history}
    cols = [Col(t("rule_id")), Col(t("rule"))] + [Col(months.label(m), "int", "sum", width=9) for m in hist_months]
    rows = [[r, t.rule(r), *(counts.get((m, r), 0) for m in hist_months)] for r in rules_]
    b.table(t("sh_dq_hist"), t("s_dq"), [t("n_dq_hist")], cols, rows, total_label_col=1)


def _xlsx_basis(b: _Book, rep: Report, t: Labels) -> None:
    rules_, sev = rep.dq_rules, rep.rules.dq_severity
    # 12. rules and settings in force, data basis
    rows = [[rid, *t.describe(setting, value)] for rid, setting, value in rep.rules.describe()]
    rows += [[r, f"{t('severity')}: {t.rule(r)}", t.severity(sev.get(r))] for r in rules_]
    rows += [["P4", t("grant_source"), "; ".join(grant_source_text(s, rep.lang) for s in rep.grant_sources)]]
    rows += [["P5", t("snapshot"), ", ".join(d.isoformat() for d in rep.snapshot_dates)]]
    for lg in rep.run_log:
        rows.append(
            [
                "P5",
                f"{t('computed')} ({lg['programme']}, {lg['step']})",
                f"{lg['finished_at']:%Y-%m-%d %H:%M} · {t('snapshot')} {lg['snapshot_date'] or ''}",
            ]
        )
    rows += [
        [
            "—",
            t("n_small"),
            t("internal_detail", k=rep.small_counts, m=small_count_limit() - 1)
            if rep.internal
            else t("not_internal", m=small_count_limit() - 1),
        ]
    ]
    rows += [["—", t("language"), rep.lang], ["—", t("generated"), f"{rep.generated_at:%Y-%m-%d %H:%M %Z}"]]
    b.table(
        t("sh_rules"),
        t("s_rules"),
        [t("n_rules")],
        [Col(t("rule_id"), width=10), Col(t("setting"), wrap=80), Col(t("value"), wrap=80)],
        rows,
        freeze_cols=0,
    )

    cols = [
        Col(t("feed")),
        Col(t("file")),
        Col(t("period")),
        Col(t("rows_read"), "int", "sum"),
        Col(t("rows_loaded"), "int", "sum"),
        Col(t("rows_rejected"), "int", "sum"),
        Col(t("loaded_at"), "datetime"),
    ]
    rows = [
        [
            d["feed"],
            d["file_name"],
            _period_label(d["feed"], d["period"]),
            d["rows_read"],
            d["rows_loaded"],
            d["rows_rejected"],
            d["loaded_at"].astimezone(months.COPENHAGEN) if d["loaded_at"] else None,
        ]
        for d in rep.deliveries
    ]
    b.table(t("sh_deliveries"), t("s_deliveries"), [t("n_deliveries", m=rep.label)], cols, rows, total_label_col=1)


def _none_first(item: tuple[int | None, object]) -> tuple[int, int]:
    return (1, 0) if item[0] is None else (0, item[0])


def _share_fraction(r: dict[str, object] | None) -> Decimal | None:
    if not r or not r["cohort_n"]:
        return None
    return Decimal(r["active_n"]) / Decimal(r["cohort_n"])


def _plain(d: Decimal) -> str:
    return format(d.normalize(), "f")


def _period_label(feed: str, period: date | None) -> str:
    if period is None or period.year < 1950:  # allocations carry no period
        return "–"
    return period.isoformat() if feed == "markings" else months.label(period)


# --------------------------------------------------------------------------------------- charts

FIG_WIDTH_IN = 7.2  # the html shows every chart at this width: A4 portrait minus margins, fonts at their point size
PALETTE = {
    "visited": "#2F6DB5",
    "deferred": "#8DB3E2",
    "line": "#1F4E8C",
    "band": "#C9D8EC",
    "req": "#B00020",
    "earned": "#1E7B34",
}


def _png(fig, dpi: int) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def render_charts(rep: Report, dpi: int = 110) -> dict[str, object]:
    """Coverage per municipality, national activity share, small multiples: base64 PNG data URIs."""
    import matplotlib
    from matplotlib.figure import Figure  # OO API, no pyplot: no global state, Agg via savefig
    from matplotlib.ticker import FuncFormatter

    t = Labels(rep.lang)
    out: dict[str, object] = {"coverage": None, "national": None, "multiples": []}
    pct_fmt = FuncFormatter(lambda v, _: f"{v:.0f} %")
    style = {"font.size": 7, "axes.titlesize": 8, "axes.spines.top": False, "axes.spines.right": False, "svg.fonttype": "none"}
    with matplotlib.rc_context(style):
        # coverage per municipality: stacked visited + deferred, the P2 line
        vis = [v for v in rep.visitation if v["target_n"]]
        if vis:
            vis.sort(key=lambda v: (v["coverage_pct"] or 0, -v["kommune_kode"]))
            n = len(vis)
            height = 1.05 + 0.118 * n
            fig = Figure(figsize=(FIG_WIDTH_IN, height))
            ax = fig.add_axes(_axes_box(height, left=1.05, right=0.1, top=0.62, bottom=0.3))  # fixed margins: fast
            y = list(range(n))
            visited = [100 * v["visited_n"] / v["target_n"] for v in vis]
            deferred = [100 * v["deferred_n"] / v["target_n"] for v in vis]
            ax.barh(y, visited, color=PALETTE["visited"], height=0.75, label=t("visited_n"))
            ax.barh(y, deferred, left=visited, color=PALETTE["deferred"], height=0.75, label=t("deferred_n"))
            req = float(rep.rules.coverage_required_pct)
            ax.axvline(
                req, color=PALETTE["req"], lw=0.8, ls="--", label=t("chart_required", t=_plain(rep.rules.coverage_required_pct))
            )
            ax.set_yticks(y, labels=[v["kommune_navn"] for v in vis], fontsize=5.8)
            for yi, v in zip(y, vis, strict=True):
                ax.text(
                    101,
                    yi,
                    t.pct(v["coverage_pct"]),
                    va="center",
                    fontsize=5.2,
                    color=PALETTE["earned"] if v["coverage_met"] else "#333333",
                )
            ax.set_xlim(0, 112)
            ax.set_ylim(-0.7, n - 0.3)
            ax.set_xticks([0, 20, 40, 60, 80, 100])
            ax.xaxis.set_major_formatter(pct_fmt)
            ax.xaxis.set_ticks_position("both")
            ax.tick_params(axis="x", labeltop=True)
            ax.set_title(t("chart_coverage", m=rep.label), loc="left")
            ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0 + 0.3 / (height - 0.92)), ncols=3, fontsize=6, frameon=False)
            out["coverage"] = _png(fig, dpi)

        ms = rep.activity_months
        if ms:
            labels = [months.label(m) for m in ms]
            x = list(range(len(ms)))
            ticks = _month_ticks(ms)
            thr = float(rep.rules.activity_threshold_pct)
            nat = [None if s is None else float(s) for *_, s in rep.national_share()]
            # national line with the spread across municipalities (25–75 %)
            fig = Figure(figsize=(FIG_WIDTH_IN, 2.8))
            ax = fig.add_axes(_axes_box(2.8, left=0.5, right=0.1, top=0.25, bottom=0.3))
            lo, hi = [], []
            for m in ms:
                vals = sorted(
                    float(r["share_pct"])
                    for k in rep.kommuner
                    if (r := rep.share.get((k.kode, m))) and r["share_pct"] is not None
                )
                lo.append(_quantile(vals, 0.25))
                hi.append(_quantile(vals, 0.75))
            ax.fill_between(
                x,
                [v if v is not None else float("nan") for v in lo],
                [v if v is not None else float("nan") for v in hi],
                color=PALETTE["band"],
                lw=0,
                label=t("chart_iqr"),
            )
            ax.plot(
                x,
                [v if v is not None else float("nan") for v in nat],
                color=PALETTE["line"],
                lw=1.8,
                marker="o",
                ms=2.5,
                label=t("country"),
            )
            ax.axhline(
                thr, color=PALETTE["req"], lw=0.9, ls="--", label=t("chart_required", t=_plain(rep.rules.activity_threshold_pct))
            )
            ax.set_ylim(0, 100)
            ax.yaxis.set_major_formatter(pct_fmt)
            ax.set_xticks(ticks, labels=[labels[i] for i in ticks])
            ax.set_xlim(-0.5, len(ms) - 0.5)
            ax.grid(axis="y", lw=0.3, color="#cccccc")
            ax.set_title(t("chart_national"), loc="left")
            ax.legend(loc="upper left", fontsize=6, frameon=False)
            out["national"] = _png(fig, dpi)

            kom = [k for k in rep.kommuner if any((k.kode, m) in rep.share for m in ms)]
            panels = []
            for k in kom:
                earned3 = bool(k.tranches.get(3, {}).get("earned"))
                values = [_pct_or_none(rep.share.get((k.kode, m))) for m in ms]
                panels.append((("✓ " if earned3 else "") + k.navn, values, PALETTE["earned"] if earned3 else None))
            thr_label = f"{_plain(rep.rules.activity_threshold_pct)} %"
            out["multiples"] = _small_multiples(
                panels, ms, [(thr, PALETTE["req"])], 100.0, ((0.0, "0 %"), (thr, thr_label), (100.0, "100 %")), dpi
            )
        out.update(_fsm2_charts(rep, t, dpi, pct_fmt))
    return out


def _month_ticks(ms: list[date]) -> list[int]:
    """x positions to label: every month of a short series, else quarters or half-years."""
    if len(ms) <= 6:
        return list(range(len(ms)))
    every = (1, 7) if len(ms) > 18 else (1, 4, 7, 10)
    return [i for i, m in enumerate(ms) if m.month in every] or [0]


def _pct_or_none(r: dict[str, object] | None) -> float | None:
    return float(r["share_pct"]) if r and r.get("share_pct") is not None else None


FSM2_ORIGIN_STYLE = {  # colour, line width: the total bold, the origins thin and distinct
    "ALL": ("#1F4E8C", 2.0),
    "DANSK": ("#5B9BD5", 1.0),
    "VESTLIG": ("#E08E0B", 1.0),
    "IKKE_VESTLIG": ("#8E44AD", 1.0),
}
FSM2_LOW = "#E3935A"  # the lower threshold's line; the higher is PALETTE["req"]


def fsm2_y_max(rep: Report) -> float:
    """A common y range for the FSM2 charts: shares are low (15–20 % is the goal), so 0–100 % would flatten them."""
    top = max(
        [float(r["share_pct"]) for r in rep.fsm2_rows if r["share_pct"] is not None and r["herkomst"] == "ALL"]
        + [
            float(s)
            for m in rep.fsm2_months
            for o in ("ALL", *rep.fsm2_origins)
            if (s := rep.fsm2_sum(m, o)["share_pct"]) is not None
        ]
        + [float(rep.fsm2_thresholds[-1]) if rep.fsm2_thresholds else 20.0]
    )
    return float(min(100, max(30, 10 * math.ceil((top + 2) / 10))))


def _fsm2_charts(rep: Report, t: Labels, dpi: int, pct_fmt) -> dict[str, object]:
    """National result share by origin against the thresholds; one small panel per municipality."""
    from matplotlib.figure import Figure

    out: dict[str, object] = {"fsm2_national": None, "fsm2_multiples": [], "fsm2_y_max": None}
    ms = rep.fsm2_months
    if not ms:
        return out
    ymax = fsm2_y_max(rep)
    out["fsm2_y_max"] = int(ymax)
    thresholds = rep.fsm2_thresholds
    lo, hi = float(thresholds[0]), float(thresholds[-1])
    labels = [months.label(m) for m in ms]
    x = list(range(len(ms)))
    ticks = _month_ticks(ms)
    fig = Figure(figsize=(FIG_WIDTH_IN, 2.9))
    ax = fig.add_axes(_axes_box(2.9, left=0.5, right=0.1, top=0.25, bottom=0.3))
    for o in ("ALL", *rep.fsm2_origins):
        colour, lw = FSM2_ORIGIN_STYLE.get(o, ("#777777", 1.0))
        ys = [rep.fsm2_sum(m, o)["share_pct"] for m in ms]
        if o != "ALL" and all(v is None for v in ys):
            continue
        ax.plot(
            x,
            [float(v) if v is not None else float("nan") for v in ys],
            color=colour,
            lw=lw,
            marker="o" if o == "ALL" else None,
            ms=2.5,
            label=t("country") + (f" ({t.origin('ALL').lower()})" if o == "ALL" else f": {t.origin(o).lower()}"),
            zorder=3 if o == "ALL" else 2,
        )
    for thr, colour in ((hi, PALETTE["req"]), (lo, FSM2_LOW)) if lo != hi else ((hi, PALETTE["req"]),):
        ax.axhline(thr, color=colour, lw=0.9, ls="--", label=t("chart_required", t=_plain(Decimal(str(thr)))), zorder=1)
    ax.set_ylim(0, ymax)
    ax.yaxis.set_major_formatter(pct_fmt)
    ax.set_xticks(ticks, labels=[labels[i] for i in ticks])
    ax.set_xlim(-0.5, len(ms) - 0.5)
    ax.grid(axis="y", lw=0.3, color="#cccccc")
    ax.set_title(t("chart_fsm2_national"), loc="left")
    ax.legend(loc="upper left", fontsize=6, frameon=False, ncols=3)
    out["fsm2_national"] = _png(fig, dpi)

    panels = []
    for k in rep.fsm2_codes:
        met = [thr for thr in thresholds if (q := rep.fsm2_req_by.get((k, thr))) and q["met"]]
        mark, colour = "", None
        if hi in [float(m) for m in met]:
            mark, colour = "✓ ", PALETTE["earned"]
        elif met:
            mark, colour = "(✓) ", "#4F8F5B"
        values = [_pct_or_none(rep.fsm2_at(k, m)) for m in ms]
        panels.append((mark + rep.name(k), values, colour))
    hi_label = f"{_plain(thresholds[-1])} %"
    lines = [(hi, PALETTE["req"])] + ([(lo, FSM2_LOW)] if lo != hi else [])
    out["fsm2_multiples"] = _small_multiples(
        panels, ms, lines, ymax, ((0.0, "0 %"), (hi, hi_label), (ymax, f"{ymax:.0f} %")), dpi
    )
    return out


def _axes_box(height: float, left: float, right: float, top: float, bottom: float) -> tuple[float, float, float, float]:
    """An Axes rectangle (figure fractions) from margins in inches."""
    return (left / FIG_WIDTH_IN, bottom / height, 1 - (left + right) / FIG_WIDTH_IN, 1 - (top + bottom) / height)


def _small_multiples(
    panels: list[tuple[str, list[float | None], str | None]],
    ms: list[date],
    lines: list[tuple[float, str]],
    y_max: float,
    y_marks: tuple[tuple[float, str], ...],
    dpi: int,
) -> list[str]:
    """One small panel per municipality (title, values 0–y_max or None, highlight colour or None), 8 across,
    up to 48 (an A4 page) per figure; `lines` are the dashed threshold lines (value, colour).

    All panels of a figure are drawn into one Axes in inch coordinates: a Matplotlib Axes per
    municipality costs tens of milliseconds to create and draw, 88 of them would be most of the report's time.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    ncols, per_fig = 8, 48
    left, right, top_pad, bottom_pad = 0.34, 0.03, 0.04, 0.16
    cell_h, title_h, gap_x, gap_y = 0.86, 0.16, 0.08, 0.16
    cell_w = (FIG_WIDTH_IN - left - right) / ncols
    n = len(ms)
    years = [i for i, m in enumerate(ms) if m.month == 1] or [0]
    year_labels = [months.label(ms[i])[:4] if ms[i].month == 1 else months.label(ms[i]) for i in years]
    uris = []
    for start in range(0, len(panels), per_fig):
        chunk = panels[start : start + per_fig]
        nrows = math.ceil(len(chunk) / ncols)
        height = top_pad + nrows * cell_h + bottom_pad
        fig = Figure(figsize=(FIG_WIDTH_IN, height))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set_autoscale_on(False)
        ax.set_xlim(0, FIG_WIDTH_IN)
        ax.set_ylim(0, height)
        frames, ticks = [], []
        thresholds: dict[str, list] = {}
        for i, (title, values, highlight) in enumerate(chunk):
            row, col = divmod(i, ncols)
            x0, w = left + col * cell_w + gap_x / 2, cell_w - gap_x
            y1 = height - top_pad - row * cell_h - title_h
            y0 = height - top_pad - (row + 1) * cell_h + gap_y
            h = y1 - y0
            xs = [x0 + (j + 0.5) / n * w for j in range(n)]
            ys = [y0 + min(v, y_max) / y_max * h if v is not None else float("nan") for v in values]
            colour = highlight or PALETTE["line"]
            frames.append([(x0, y1), (x0, y0), (x0 + w, y0)])
            for v, c in lines:
                thresholds.setdefault(c, []).append([(x0, y0 + v / y_max * h), (x0 + w, y0 + v / y_max * h)])
            ax.fill_between(xs, ys, y0, color=PALETTE["band"], lw=0)
            ax.plot(xs, ys, color=colour, lw=0.9, solid_joinstyle="round")
            ax.text(
                x0 + w / 2,
                y1 + 0.025,
                title,
                ha="center",
                va="bottom",
                fontsize=5.8,
                color=highlight or "#222222",
                clip_on=False,
            )
            if col == 0:
                for v, label in y_marks:
                    ax.text(x0 - 0.04, y0 + v / y_max * h, label, ha="right", va="center", fontsize=4.8, color="#333333")
                    ticks.append([(x0 - 0.025, y0 + v / y_max * h), (x0, y0 + v / y_max * h)])
            if i + ncols >= len(chunk):  # the lowest panel of its column
                for j, label in zip(years, year_labels, strict=True):
                    ax.text(xs[j], y0 - 0.035, label, ha="center", va="top", fontsize=4.8, color="#333333")
                    ticks.append([(xs[j], y0), (xs[j], y0 - 0.02)])
        ax.add_collection(LineCollection(frames, colors="#555555", linewidths=0.5))
        ax.add_collection(LineCollection(ticks, colors="#555555", linewidths=0.4))
        for c, segs in thresholds.items():
            ax.add_collection(LineCollection(segs, colors=c, linewidths=0.6, linestyles="--"))
        uris.append(_png(fig, dpi))
    return uris


def _quantile(vals: list[float], q: float) -> float | None:
    if not vals:
        return None
    pos = (len(vals) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


# --------------------------------------------------------------------------------------- html


def render_html(rep: Report, charts: dict[str, object] | None = None) -> str:
    import jinja2

    t = Labels(rep.lang)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=t.money, num=t.count, pct=t.pct, month=t.month, basis=lambda s: basis_text(s, rep.lang))
    charts = charts if charts is not None else render_charts(rep)
    tot = rep.totals()
    rules_ = rep.dq_rules
    sev = rep.rules.dq_severity
    by: dict[int | None, dict[str, int]] = {}
    for kode, rule, n in rep.dq_counts:
        by.setdefault(kode, {})[rule] = n
    new_by: dict[int | None, dict[str, int]] = {}
    for kode, rule, n in rep.dq_new:
        new_by.setdefault(kode, {})[rule] = n
    hist_months = sorted({m for m, _, _ in rep.dq_history})[-6:]
    hist = {(m, r): n for m, r, n in rep.dq_history}
    recent = rep.activity_months[-6:]
    feeds: dict[str, dict[str, object]] = {}
    for d in rep.deliveries:
        f = feeds.setdefault(
            d["feed"], {"feed": d["feed"], "files": 0, "first": None, "last": None, "read": 0, "loaded": 0, "rejected": 0}
        )
        f["files"] += 1
        label = _period_label(d["feed"], d["period"])
        f["first"] = f["first"] or label
        f["last"] = label
        f["read"] += d["rows_read"]
        f["loaded"] += d["rows_loaded"]
        f["rejected"] += d["rows_rejected"]
    this_month_files = [
        d
        for d in rep.deliveries
        if d["period"]
        and (
            months.label(d["period"]) == rep.label
            or d["period"].year < 1950
            or (d["feed"] == "markings" and d["period"] in rep.snapshot_dates)
        )
    ]
    ctx = {
        "t": t,
        "rep": rep,
        "lang": rep.lang,
        "limit": small_count_limit() - 1,
        "totals": tot,
        "per_tranche": rep.per_tranche(),
        "due": rep.due,
        "kommuner": [k for k in rep.kommuner if k.tranches],
        "newly": rep.newly_earned(),
        "newly_total": sum((r["amount_dkk"] for r in rep.newly_earned()), ZERO),
        "lost": rep.no_longer_earned(),
        "amount_changes": rep.amount_changes(),
        "visitation": rep.visitation,
        "vis_total": {c: sum(v[c] for v in rep.visitation) for c in VISITATION_COUNTS},
        "vis_coverage": _national_coverage(rep),
        "recent": recent,
        "share": rep.share,
        "national": rep.national_share(),
        "dq_rules": rules_,
        "dq_sev": {r: t.severity(sev.get(r)) for r in rules_},
        "dq_rows": sorted(by.items(), key=_none_first),
        "dq_totals": {r: sum(d.get(r, 0) for d in by.values()) for r in rules_},
        "dq_new_rows": sorted(new_by.items(), key=_none_first),
        "dq_new_totals": {r: sum(d.get(r, 0) for d in new_by.values()) for r in rules_},
        "dq_resolved": rep.dq_resolved,
        "hist_months": hist_months,
        "hist": hist,
        "describe": [(rid, *t.describe(s, v)) for rid, s, v in rep.rules.describe()],
        "grant_sources": [grant_source_text(s, rep.lang) for s in rep.grant_sources],
        "feeds": list(feeds.values()),
        "month_files": this_month_files,
        "period_label": _period_label,
        "charts": charts,
        "wrap_id": lambda s: s.replace("_", "_\u200b"),
        "threshold": _plain(rep.rules.activity_threshold_pct),
        "coverage_required": _plain(rep.rules.coverage_required_pct),
        **_html_fsm2(rep, t),
    }
    return env.get_template(HTML_TEMPLATE).render(**ctx)


def _html_fsm2(rep: Report, t: Labels) -> dict[str, object]:
    """The FSM2 section's context, and which sections the html has in which order (numbered in the TOC)."""
    show_fsm1 = rep.has_fsm1 or not rep.has_fsm2
    show_dq = show_fsm1 or bool(rep.dq_counts or rep.dq_history)
    thresholds = rep.fsm2_thresholds
    lo, hi = (thresholds[0], thresholds[-1]) if thresholds else (Decimal(15), Decimal(20))
    rows = []
    for k in rep.fsm2_codes:
        r = rep.fsm2_at(k) or dict.fromkeys((*FSM2_COUNTS, "share_pct"))
        rows.append(
            {
                "kode": k,
                "navn": rep.name(k),
                **{c: r.get(c) for c in (*FSM2_COUNTS, "share_pct")},
                "band": _band(r, lo, hi),
                "req": [(thr, rep.fsm2_req_by.get((k, thr))) for thr in thresholds],
            }
        )
    recent = rep.fsm2_months[-6:]
    recent_rows = [
        {
            "kode": k,
            "navn": rep.name(k),
            "cells": [(r, _band(r, lo, hi)) for m in recent for r in [rep.fsm2_at(k, m)]],
        }
        for k in rep.fsm2_codes
    ]
    national = rep.fsm2_sum() if rep.has_fsm2 else None
    origin_rows = [
        {
            "origin": o,
            "label": t.origin(o),
            "now": (now := rep.fsm2_sum(rep.month, o)),
            "band": _band(now, lo, hi),
            "recent": [(n["share_pct"], _band(n, lo, hi)) for m in recent for n in [rep.fsm2_sum(m, o)]],
        }
        for o in ("ALL", *rep.fsm2_origins)
    ]
    newly = [{**r, "kommune_navn": rep.name(r["kommune_kode"])} for r in rep.fsm2_newly_met()]
    order = (
        (["due", "status", "totals", "changes", "visitation", "activity"] if show_fsm1 else ["changes"])
        + (["fsm2"] if rep.has_fsm2 else [])
        + ([] if show_fsm1 else ["fsm1"])
        + (["dq"] if show_dq else [])
        + ["rules"]
    )
    titles = {
        "due": t("s_due", m=rep.label),
        "status": t("s_status"),
        "totals": t("s_totals"),
        "changes": t("s_changes", p=rep.prev_label),
        "visitation": t("s_visitation"),
        "activity": t("s_activity"),
        "fsm2": t("s_fsm2"),
        "fsm1": t("s_fsm1"),
        "dq": t("s_dq"),
        "rules": t("s_rules"),
    }
    return {
        "show_fsm1": show_fsm1,
        "show_dq": show_dq,
        "fsm1_absent": "" if show_fsm1 else rep.fsm1_absent_text(t),
        "sections": [(sid, titles[sid]) for sid in order],
        "num": {sid: i for i, sid in enumerate(order, 1)},
        "fsm2_rows": rows,
        "fsm2_national": national,
        "fsm2_recent": recent,
        "fsm2_recent_rows": recent_rows,
        "fsm2_origin_rows": origin_rows,
        "fsm2_thresholds": [_plain(x) for x in thresholds],
        "fsm2_n_met": [(_plain(x), rep.fsm2_n_met(x)) for x in thresholds],
        "fsm2_lo": _plain(lo),
        "fsm2_hi": _plain(hi),
        "fsm2_newly": newly,
        "plain": _plain,
    }


def _band(r: dict[str, object] | None, lo: Decimal, hi: Decimal) -> str:
    """'good' at the higher threshold, 'fair' at the lower, '' below (html cell classes); the exact fraction decides (F8)."""
    if not r or not r.get("indsatsgruppe_n"):
        return ""
    active, ind = int(r["active_n"]), int(r["indsatsgruppe_n"])
    return "good" if active * 100 >= hi * ind else "fair" if active * 100 >= lo * ind else ""


def _national_coverage(rep: Report) -> Decimal | None:
    target = sum(v["target_n"] for v in rep.visitation)
    accounted = sum(v["visited_n"] + (v["deferred_n"] if rep.rules.deferred_counts_as_visited else 0) for v in rep.visitation)
    return (Decimal(100) * accounted / target).quantize(CENT) if target else None


# --------------------------------------------------------------------------------------- entry


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_reports(month: date) -> dict[str, object]:
    """Write tranche_report.{csv,xlsx,html} for `month` under FSM_REPORTS_DIR/<YYYY-MM>/."""
    t0 = time.perf_counter()
    month = month.replace(day=1)
    out = reports_dir() / months.label(month)
    out.mkdir(parents=True, exist_ok=True)
    with connect() as conn:
        # One consistent, read-only snapshot: a month's run rewriting the marts meanwhile cannot mix two states.
        import psycopg

        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        rep = collect(conn, month)
    if not rep.tranches and not rep.has_fsm2:
        log.warning("no FSM1 tranche status and no FSM2 result in the warehouse for %s: the report says so", rep.label)
    elif not rep.tranches:
        log.info("%s: FSM2 only (no FSM1 tranche status)", rep.label)
    if not rep.reconciled:
        log.error("report %s does not reconcile: %s", rep.label, rep.totals())
    timings = {"read": time.perf_counter() - t0}

    t1 = time.perf_counter()
    _atomic_write(out / "tranche_report.csv", write_csv(csv_rows(rep)))
    files = ["tranche_report.xlsx", "tranche_report.html", "tranche_report.csv"]
    if rep.has_fsm2:
        _atomic_write(out / FSM2_CSV, write_csv(fsm2_csv_rows(rep), FSM2_CSV_COLUMNS))
        files.append(FSM2_CSV)
    else:
        (out / FSM2_CSV).unlink(missing_ok=True)  # a rerun reproduces the month: no stale FSM2 file
    timings["csv"] = time.perf_counter() - t1

    t1 = time.perf_counter()
    tmp = out / "tranche_report.xlsx.tmp"
    sheets = write_xlsx(rep, tmp)
    os.replace(tmp, out / "tranche_report.xlsx")
    timings["xlsx"] = time.perf_counter() - t1

    t1 = time.perf_counter()
    charts = render_charts(rep)
    timings["charts"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    _atomic_write(out / "tranche_report.html", render_html(rep, charts).encode("utf-8"))
    timings["html"] = time.perf_counter() - t1

    tot = rep.totals()
    seconds = time.perf_counter() - t0
    log.info(
        "report for %s: %d municipalities, %d rows, due %s DKK, earned to date %s DKK%s%s, in %s (%.2fs: %s)",
        rep.label,
        len(rep.kommuner),
        len(rep.tranches),
        tot["due"],
        tot["earned"],
        " [INTERNAL]" if rep.internal else "",
        f"; FSM2 {len(rep.fsm2_codes)} municipalities" if rep.has_fsm2 else "",
        out,
        seconds,
        {k: round(v, 2) for k, v in timings.items()},
    )
    return {
        "month": rep.label,
        "dir": str(out),
        "rows": len(rep.tranches),
        "earned_dkk": str(tot["earned"]),
        "due_dkk": str(tot["due"]),
        "granted_dkk": str(tot["granted"]),
        "outstanding_dkk": str(tot["outstanding"]),
        "municipalities": len([k for k in rep.kommuner if k.tranches]),
        "reconciled": rep.reconciled,
        "internal": rep.internal,
        "sheets": sheets,
        "files": files,
        "fsm2": _fsm2_summary(rep),
        "seconds": round(seconds, 2),
    }


def _fsm2_summary(rep: Report) -> dict[str, object] | None:
    """FSM2 in the task's return value (XCom): counts and shares only."""
    if not rep.has_fsm2:
        return None
    nat = rep.fsm2_sum()
    return {
        "municipalities": len(rep.fsm2_codes),
        "indsatsgruppe": nat["indsatsgruppe_n"],
        "active": nat["active_n"],
        "share_pct": None if nat["share_pct"] is None else str(nat["share_pct"]),
        "met": {_plain(t): rep.fsm2_n_met(t) for t in rep.fsm2_thresholds},
        "newly_met": len(rep.fsm2_newly_met()),
    }
