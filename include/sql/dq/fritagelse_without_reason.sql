-- fritagelse_without_reason (F3): an exemption marking with no reason; the reason is what makes
-- an exemption lawful (illness worsened by activation, maternity leave, a job within 6 weeks …).
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
    m.person_id,
    'FRITAGELSE from ' || m.start_date || ' has no fritagelse_aarsag' as detail
from batch as m
where m.file_id = {{ snapshot_file_id }}
    and m.marking_code = 'FRITAGELSE'
    and coalesce(trim(m.fritagelse_aarsag), '') = ''
