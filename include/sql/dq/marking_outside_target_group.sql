-- marking_outside_target_group (T2): an FSM1 municipal marking for a citizen with no
-- FSM_BRUTTO in force on the project start day.
-- batch: stg_markings
with

batch as (  -- GX substitutes its batch here; the violations table reads the table itself
    select * from {batch}
)

select
    'FSM1' as programme,
    m.marking_id,
    '' as other_marking_id,
    m.kommune_kode,
    m.person_id,
    m.marking_code || ' from ' || m.start_date || ' for a citizen with no FSM_BRUTTO in force on '
        || {{ project_start }} as detail
from batch as m
where m.file_id = {{ snapshot_file_id }}
    and m.marking_code in ('FSM_GR1', 'FSM_GR2', 'FSM_GR3', 'FSM_UDSKUDT', 'FSM_PJF')
    and not exists (
        select 1 from stg_marking_versions as b  -- the same snapshot, as versions (issue 17)
        where {{ extract_date }} between b.valid_from and b.valid_to
            and b.person_id = m.person_id
            and b.marking_code = 'FSM_BRUTTO'
            and b.start_date <= {{ project_start }}
            and (b.end_date is null or b.end_date > {{ project_start }})
    )
