-- invalid_period (M6): end_date before start_date. Such a marking is ignored in the figures (D1).
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
    m.marking_code || ' ends ' || m.end_date || ' before it starts ' || m.start_date as detail
from batch as m
where m.file_id = {{ snapshot_file_id }}
    and m.end_date < m.start_date
