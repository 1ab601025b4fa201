-- backdated_marking (M3): a municipal marking whose start_date precedes the day it was
-- registered by more than the grace. FSM_BRUTTO is STAR's pre-fill and is never flagged.
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
    'start ' || m.start_date || ', registered ' || m.registered_date || ': '
        || (m.registered_date - m.start_date) || ' days backdated' as detail
from batch as m
where m.file_id = {{ snapshot_file_id }}
    and m.marking_code <> 'FSM_BRUTTO'
    and m.registered_date - m.start_date > {{ backdating_grace_days }}
