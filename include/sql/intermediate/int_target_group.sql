-- int_target_group — T1, T2: the gross target group is FSM_BRUTTO in force on the project
-- start day (leavers end-dated before it are out); the citizen belongs to that marking's
-- municipality. brutto_end feeds T3 ('left unvisited') downstream.
with

brutto as (
    select
        m.as_of_month,
        m.person_id,
        m.kommune_kode,
        m.end_date,
        row_number() over (
            partition by m.as_of_month, m.person_id
            order by m.end_date desc nulls first, m.start_date, m.registered_at, m.marking_id
        ) as rn
    from int_markings_asof as m
    where m.marking_code = 'FSM_BRUTTO'
        and not m.invalid_period
        and m.start_date <= {{ project_start }}
        and (m.end_date is null or m.end_date > {{ project_start }})  -- T2, M6 half-open
),

final as (
    select as_of_month, person_id, kommune_kode, end_date as brutto_end
    from brutto
    where rn = 1
)

select * from final
