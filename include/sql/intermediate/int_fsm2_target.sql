-- int_fsm2_target — F1, F7: the FSM2 target group per month. A citizen is in it in month m when
-- a week of m (the month of its Thursday) pays KONTANTHJAELP or OVERGANGSYDELSE (or
-- INTEGRATIONSYDELSE before 2020), matchgruppe AKTIVITETSPARAT, outside the introduction
-- programme, and they are 30 or older on m's last day (birth date from the CPR, kept at ingest in dim_person).
-- Their municipality and origin (F5) are those of the last such week of m; participants only (F9).
with

files as (
    select file_id from int_register_files where feed = 'ydelse'
),

months as (
    select distinct activity_month, activity_last_day from int_fsm2_pairs
),

qualifying as (
    select
        y.week_month as activity_month,
        y.person_id,
        y.iso_week_no,
        y.kommune_kode,
        y.herkomst::text as herkomst
    from stg_ydelse as y
    inner join files as f on f.file_id = y.file_id
    where y.week_month in (select activity_month from months)
        and (
            y.ydelse_kode::text = any({{ fsm2_benefits }})
            or (y.ydelse_kode = 'INTEGRATIONSYDELSE' and y.week_month < {{ fsm2_integrationsydelse_until }}::date)
        )
        and y.matchgruppe = 'AKTIVITETSPARAT'
        and not y.introduktionsprogram
),

last_week as (
    select distinct on (q.activity_month, q.person_id) q.*
    from qualifying as q
    order by q.activity_month, q.person_id, q.iso_week_no desc  -- one ISO year a month: the week's order
),

final as (
    select w.activity_month, w.person_id, w.kommune_kode, w.herkomst
    from last_week as w
    inner join months as m using (activity_month)
    inner join dim_person as p on p.person_id = w.person_id
    where p.birth_date + make_interval(years => {{ fsm2_min_age }}) <= m.activity_last_day  -- 'over 30' (F1)
        and w.kommune_kode = any({{ fsm2_participants }})  -- F9
)

select * from final
