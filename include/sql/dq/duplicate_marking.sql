-- duplicate_marking (M6): two markings of the same code for one citizen whose half-open
-- periods overlap; one row per pair, marking_id the later-starting (ties by registration
-- time, then id).
-- batch: stg_markings
with

batch as (  -- GX substitutes its batch here; the violations table reads the table itself.
    -- A query with a JOIN gets GX's batch without an alias, so it names its own (src).
    select * from {batch} as src
)

select
    case when a.marking_code in ('FSM2_GR2', 'FSM2_STEPUP', 'FRITAGELSE') then 'FSM2' else 'FSM1' end as programme,
    a.marking_id,
    b.marking_id as other_marking_id,
    a.kommune_kode,
    a.person_id,
    a.marking_code || ' twice: ' || b.start_date || '–' || coalesce(b.end_date::text, 'open')
        || ' and ' || a.start_date || '–' || coalesce(a.end_date::text, 'open') as detail
from batch as a
inner join stg_marking_versions as b  -- the same snapshot, as versions (issue 17)
    on {{ extract_date }} between b.valid_from and b.valid_to
    and b.person_id = a.person_id
    and b.marking_code = a.marking_code
    and (b.start_date, b.registered_at, b.marking_id) < (a.start_date, a.registered_at, a.marking_id)
where a.file_id = {{ snapshot_file_id }}
    and coalesce(a.end_date >= a.start_date, true)
    and coalesce(b.end_date >= b.start_date, true)
    and a.start_date < coalesce(b.end_date, 'infinity'::date)
    and b.start_date < coalesce(a.end_date, 'infinity'::date)
