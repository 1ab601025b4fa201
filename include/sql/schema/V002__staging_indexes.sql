-- V002: the marking rules and D1 self-join markings of one snapshot by citizen.
create index if not exists stg_markings_file_person on stg_markings (file_id, person_key, marking_code);
create index if not exists stg_ydelse_file_week on stg_ydelse (file_id, week_month, ydelse_kode);
