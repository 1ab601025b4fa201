-- future_marking: a start_date after the date of the extract it came in.
-- batch: stg_markings
with

batch as (  -- GX substitutes its batch here; the violations table reads the table itself
    select * from {batch}
)

select
    case when m.marking_code in ('FSM2_GR2', 'FSM2_STEPUP', 'FRITAGELSE') then 'FSM2' else 'FSM1' end as programme,
    m.marking_id,
    '' as other_marking_id,
    m.kommune_kode,
    m.person_id,
    m.marking_code || ' starts ' || m.start_date || ', after the extract of ' || m.extract_date as detail
from batch as m
where m.file_id = {{ snapshot_file_id }}
    and m.start_date > m.extract_date
