-- fsm2_gr2_outside_target_group (F2, F7): an FSM2_GR2 registered and in force at the end of the
-- month for a citizen who is not in the FSM2 target group that month (no qualifying week of
-- benefits, not activity-ready, in the introduction programme, under 30, or outside FSM2's
-- municipalities). Membership is decided as in int_fsm2_target: by the month's last qualifying
-- week, so a citizen who moved out of an FSM2 municipality during the month is outside it.
-- batch: stg_markings
with

batch as (  -- GX substitutes its batch here; the violations table reads the table itself.
    -- A query with a JOIN gets GX's batch without an alias, so it names its own (src).
    select * from {batch} as src
),

last_week as materialized (  -- F7: each citizen's last qualifying week of the month decides (F5, F9), set-based
    select distinct on (y.person_id) y.person_id, y.kommune_kode
    from stg_ydelse as y
    where y.file_id = {{ ydelse_file_id }}
        and y.week_month = {{ as_of_month }}
        and (y.ydelse_kode::text = any({{ fsm2_benefits }})
            or (y.ydelse_kode = 'INTEGRATIONSYDELSE' and y.week_month < {{ fsm2_integrationsydelse_until }}::date))
        and y.matchgruppe = 'AKTIVITETSPARAT'
        and not y.introduktionsprogram
    order by y.person_id, y.iso_week_no desc  -- one ISO year a month: the week's order
)

select
    'FSM2' as programme,
    m.marking_id,
    '' as other_marking_id,
    m.kommune_kode,
    m.person_id,
    'FSM2_GR2 in force on ' || {{ last_day }} || ' for a citizen outside the FSM2 target group in '
        || to_char({{ as_of_month }}::date, 'YYYY-MM') as detail
from batch as m
where m.file_id = {{ snapshot_file_id }}
    and m.marking_code = 'FSM2_GR2'
    and coalesce(m.end_date >= m.start_date, true)
    and greatest(m.start_date, m.registered_date) <= {{ last_day }}
    and (m.end_date is null or m.end_date > {{ last_day }})
    and not exists (  -- F7: in the target group this month, judged as int_fsm2_target does
        select 1
        from last_week as w
        inner join dim_person as p on p.person_id = w.person_id
        where w.person_id = m.person_id
            and p.birth_date + make_interval(years => {{ fsm2_min_age }}) <= {{ last_day }}
            and w.kommune_kode = any({{ fsm2_participants }})
    )
