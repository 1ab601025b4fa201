"""The catalogue's messages for the operators and the municipalities: the status view (st.), the feedback files
(fb., and what to do per marking rule: todo.) and the what-if comparison (wi.); merged into catalogue.MESSAGES."""

from __future__ import annotations

OPS_MESSAGES: dict[str, dict[str, str]] = {
    # --- feedback to the municipalities (fsm.report.feedback); what to do, per marking rule
    "fb.title": {"da": "Flere skal med – tilbagemelding til {kommune}, {m}", "en": "Flere skal med – feedback to {kommune}, {m}"},
    "fb.intro": {
        "da": "STAR har fundet disse markeringer, som bryder reglerne for markering. Find borgeren i jeres sagssystem ud fra markerings-id'et og ret markeringen.",
        "en": "STAR found these markings breaking the marking rules. Find the citizen in your case system by the marking id and correct the marking.",
    },
    "fb.sheet_flags": {"da": "Markeringer", "en": "Markings"},
    "fb.sheet_status": {"da": "Status", "en": "Status"},
    "fb.marking_id": {"da": "Markerings-id", "en": "Marking id"},
    "fb.other_marking_id": {"da": "Andet markerings-id", "en": "Other marking id"},
    "fb.rule": {"da": "Regel", "en": "Rule"},
    "fb.severity": {"da": "Alvor", "en": "Severity"},
    "fb.first_flagged": {"da": "Fundet første gang", "en": "First flagged"},
    "fb.todo": {"da": "Det skal I gøre", "en": "What to do"},
    "fb.status_measure": {"da": "Mål", "en": "Measure"},
    "fb.status_value": {"da": "Værdi", "en": "Value"},
    "fb.coverage": {
        "da": "Dækning (visiteret + udskudt / målgruppe, V3)",
        "en": "Coverage (visited + deferred / target group, V3)",
    },
    "fb.activity": {"da": "Aktivitetsandel {m} (A2)", "en": "Activity share {m} (A2)"},
    "fb.tranche": {"da": "Rate {n}", "en": "Tranche {n}"},
    "fb.fsm2_threshold": {"da": "FSM2 resultatkrav {t} %", "en": "FSM2 result requirement {t} %"},
    "todo.backdated_marking": {
        "da": "Markeringen er tilbagedateret: startdatoen ligger før registreringsdatoen. Markér straks efter handlingen; tæller fra registreringsdagen (D1).",
        "en": "The marking is backdated: its start is before the day it was registered. Mark right after the action; it counts from the registration day (D1).",
    },
    "todo.overlapping_group_marking": {
        "da": "Borgeren står i to grupper på samme tid. Afslut den tidligere gruppemarkering den dag, den nye begynder.",
        "en": "The citizen is in two groups at once. End the earlier group marking on the day the new one starts.",
    },
    "todo.duplicate_marking": {
        "da": "Samme markering findes to gange for samme periode. Slet eller afslut den ene.",
        "en": "The same marking exists twice for the same period. Delete or end one of them.",
    },
    "todo.invalid_period": {
        "da": "Slutdatoen ligger før startdatoen. Ret datoerne; markeringen tæller ikke, før de er rettet.",
        "en": "The end date is before the start date. Correct the dates; the marking does not count until they are.",
    },
    "todo.marking_outside_target_group": {
        "da": "Borgeren var ikke i målgruppen ved projektstart. Kontrollér borgeren og kommunen, eller fjern markeringen.",
        "en": "The citizen was not in the target group at project start. Check the person and municipality, or remove the marking.",
    },
    "todo.future_marking": {
        "da": "Startdatoen ligger efter udtræksdatoen. Ret startdatoen til den dag, handlingen fandt sted.",
        "en": "The start date is after the extract date. Set the start to the day the action took place.",
    },
    "todo.revalidering_without_group2": {
        "da": "Borgeren får revalidering, men har ingen gruppe 2-markering. Markér gruppe 2, hvis sagen er i rehabiliteringsteamet.",
        "en": "The citizen is paid revalidering but has no group 2 marking. Mark group 2 if the case is with the rehabilitation team.",
    },
    "todo.fsm2_gr2_outside_target_group": {
        "da": "FSM2 gruppe 2-markeringen gælder en borger uden for FSM2-målgruppen. Kontrollér borgeren, eller afslut markeringen.",
        "en": "The FSM2 group 2 marking is on a citizen outside the FSM2 target group. Check the citizen, or end the marking.",
    },
    "todo.fritagelse_without_reason": {
        "da": "Fritagelsen mangler en årsag. Angiv årsagen (fx sygdom, barsel, job inden for 6 uger).",
        "en": "The exemption has no reason. Give the reason (e.g. illness, maternity leave, a job within 6 weeks).",
    },
    # --- the status view in the Airflow UI (fsm.ops.status)
    "st.title": {"da": "FSM status", "en": "FSM status"},
    "st.empty": {
        "da": "Lageret har endnu ingen tal: kør en måned (make run, eller udløs DAG'en).",
        "en": "The warehouse has no figures yet: run a month (make run, or trigger the DAG).",
    },
    "st.report": {"da": "Månedens ratrapport", "en": "The month's tranche report"},
    "st.other_months": {"da": "Andre måneder", "en": "Other months"},
    "st.coverage": {"da": "Dækning (V3)", "en": "Coverage (V3)"},
    "st.activity": {"da": "Aktivitetsandel over månederne (A2, P3)", "en": "Activity share over the months (A2, P3)"},
    "st.tranche": {"da": "Rate {n}", "en": "Tranche {n}"},
    "st.flags": {"da": "Markeringsfejl (DQ)", "en": "Marking flags (DQ)"},
    "st.feedback": {"da": "Tilbagemelding", "en": "Feedback file"},
    "st.result": {"da": "Resultatandel over månederne (F8)", "en": "Result share over the months (F8)"},
    "st.met": {"da": "{t} % opfyldt", "en": "{t} % met"},
    "st.parts": {"da": "Udbetalinger (F10)", "en": "Payments (F10)"},
    # --- what-if comparison (fsm.report.what_if)
    "wi.title": {"da": "Hvis-beregning «{name}» – {m}", "en": "What-if «{name}» – {m}"},
    "wi.note": {
        "da": "Måneden beregnet med ændrede regler ved siden af de officielle tal, som ikke ændres. Kun til analyse.",
        "en": "The month computed under changed rules beside the official figures, which are not changed. For analysis only.",
    },
    "wi.overrides": {"da": "Ændrede regler", "en": "Rules changed"},
    "wi.setting": {"da": "Regel", "en": "Rule"},
    "wi.value": {"da": "Værdi i hvis-beregningen", "en": "Value in the what-if"},
    "wi.totals": {"da": "Totaler der ændres", "en": "Totals that change"},
    "wi.changed": {
        "da": "Kommuner med ændrede udløsningsmåneder eller beløb",
        "en": "Municipalities whose earned months or amounts change",
    },
    "wi.nothing_changed": {"da": "Ingen udløsningsmåned eller beløb ændres.", "en": "No earned month or amount changes."},
    "wi.programme": {"da": "Program", "en": "Programme"},
    "wi.measure": {"da": "Mål", "en": "Measure"},
    "wi.measure.mart_tranche_status": {"da": "Rater (P1–P3)", "en": "Tranches (P1–P3)"},
    "wi.measure.mart_fsm2_requirement": {"da": "Resultatkrav (F8)", "en": "Result requirement (F8)"},
    "wi.measure.mart_fsm2_payment_status": {"da": "Udbetalinger (F10)", "en": "Payments (F10)"},
    "wi.part": {"da": "Rate/tærskel", "en": "Tranche/threshold"},
    "wi.month_official": {"da": "Officiel måned", "en": "Official month"},
    "wi.month_what_if": {"da": "Hvis-måned", "en": "What-if month"},
    "wi.earned_official": {"da": "Udløst (officielt)", "en": "Earned (official)"},
    "wi.earned_what_if": {"da": "Udløst (hvis)", "en": "Earned (what-if)"},
    "wi.amount_official": {"da": "Udløst beløb (officielt)", "en": "Amount earned (official)"},
    "wi.amount_what_if": {"da": "Udløst beløb (hvis)", "en": "Amount earned (what-if)"},
    "wi.changed_n": {"da": "Ændrede rækker", "en": "Rows changed"},
}
