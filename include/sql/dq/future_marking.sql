-- future_marking: a start_date after the date of the extract it came in.
-- batch: stg_markings
select
    m.marking_id,
    '' as other_marking_id,
    m.kommune_kode,
    m.person_key,
    m.marking_code || ' starts ' || m.start_date || ', after the extract of ' || m.extract_date as detail
from {batch} as m
where m.file_id = {{ snapshot_file_id }}
    and m.start_date > m.extract_date
