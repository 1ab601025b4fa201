-- fsm2_gr2_outside_target_group (F2, F7): an FSM2_GR2 registered and in force at the end of the
-- month for a citizen who is not in the FSM2 target group that month (no qualifying week of
-- benefits, not activity-ready, in the introduction programme, under 30, or outside FSM2's
-- municipalities). Membership is decided as in int_fsm2_target: by the month's last qualifying
-- week, so a citizen who moved out of an FSM2 municipality during the month is outside it.
-- batch: stg_markings
with

batch as (  -- GX substitutes its batch here; the violations table reads the table itself
    select * from {batch}
)

select
    'FSM2' as programme,
    m.marking_id,
    '' as other_marking_id,
    m.kommune_kode,
    m.person_key,
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
        from (  -- the last qualifying week of the month decides the municipality (F5, F9)
            select y.kommune_kode, y.birth_date
            from stg_ydelse as y
            where y.file_id = {{ ydelse_file_id }}
                and y.person_key = m.person_key
                and y.week_month = {{ as_of_month }}
                and (y.ydelse_kode = any({{ fsm2_benefits }})
                    or (y.ydelse_kode = 'INTEGRATIONSYDELSE' and y.week_month < {{ fsm2_integrationsydelse_until }}::date))
                and y.matchgruppe = 'AKTIVITETSPARAT'
                and not y.introduktionsprogram
            order by y.iso_week desc
            limit 1
        ) as last_week
        where last_week.birth_date + make_interval(years => {{ fsm2_min_age }}) <= {{ last_day }}
            and last_week.kommune_kode = any({{ fsm2_participants }})
    )
