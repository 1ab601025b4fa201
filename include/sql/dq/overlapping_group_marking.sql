-- overlapping_group_marking (M2, M6): two markings of different codes among FSM_GR1/2/3 of one
-- citizen whose half-open periods overlap; one row per pair, marking_id the later-starting
-- (ties by registration time, then id), other_marking_id the earlier. A same-day switch
-- (group 1 ends 2018-03-01, group 2 starts 2018-03-01) is not an overlap.
-- batch: stg_markings
with

batch as (  -- GX substitutes its batch here; the violations table reads the table itself.
    -- A query with a JOIN gets GX's batch without an alias, so it names its own (src).
    select * from {batch} as src
)

select
    'FSM1' as programme,
    a.marking_id,
    b.marking_id as other_marking_id,
    a.kommune_kode,
    a.person_id,
    a.marking_code || ' from ' || a.start_date || ' overlaps ' || b.marking_code || ' '
        || b.start_date || '–' || coalesce(b.end_date::text, 'open') as detail
from batch as a
inner join stg_marking_versions as b  -- the same snapshot, as versions (issue 17)
    on {{ extract_date }} between b.valid_from and b.valid_to
    and b.person_id = a.person_id
    and b.marking_code <> a.marking_code
    and b.marking_code in ('FSM_GR1', 'FSM_GR2', 'FSM_GR3')
    and (b.start_date, b.registered_at, b.marking_id) < (a.start_date, a.registered_at, a.marking_id)
where a.file_id = {{ snapshot_file_id }}
    and a.marking_code in ('FSM_GR1', 'FSM_GR2', 'FSM_GR3')
    and coalesce(a.end_date >= a.start_date, true)
    and coalesce(b.end_date >= b.start_date, true)
    and a.start_date < coalesce(b.end_date, 'infinity'::date)
    and b.start_date < coalesce(a.end_date, 'infinity'::date)
