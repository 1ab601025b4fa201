-- revalidering_without_group2 (letter of 16-10-2017: group 2 'skal endvidere udfyldes i det
-- tilfælde borgeren tilkendes revalidering'): a target-group citizen paid REVALIDERING in a week
-- of the month, with no FSM_GR2 registered and in force on the month's last day. Warning.
-- batch: stg_ydelse
with

batch as (  -- GX substitutes its batch here; the violations table reads the table itself
    select * from {batch}
)

select
    'FSM1' as programme,
    'REVALIDERING ' || to_char({{ as_of_month }}::date, 'YYYY-MM') as marking_id,
    '' as other_marking_id,
    min(y.kommune_kode) as kommune_kode,
    y.person_id,
    'paid REVALIDERING in ' || count(*) || ' week(s) of ' || to_char({{ as_of_month }}::date, 'YYYY-MM')
        || ', no FSM_GR2 in force on ' || {{ last_day }} as detail
from batch as y
where y.file_id = {{ ydelse_file_id }}
    and y.week_month = {{ as_of_month }}
    and y.ydelse_kode = 'REVALIDERING'
    and exists (  -- in the target group (T2)
        select 1 from stg_marking_versions as b  -- the snapshot's versions (issue 17)
        where {{ extract_date }} between b.valid_from and b.valid_to
            and b.person_id = y.person_id
            and b.marking_code = 'FSM_BRUTTO'
            and b.start_date <= {{ project_start }}
            and (b.end_date is null or b.end_date > {{ project_start }})
    )
    and not exists (
        select 1 from stg_marking_versions as g
        where {{ extract_date }} between g.valid_from and g.valid_to
            and g.person_id = y.person_id
            and g.marking_code = 'FSM_GR2'
            and g.registered_date <= {{ last_day }}
            and g.start_date <= {{ last_day }}
            and (g.end_date is null or g.end_date > {{ last_day }})
    )
group by y.person_id
