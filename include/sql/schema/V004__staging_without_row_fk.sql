-- V004 (issue 8, national scale): staging rows no longer check `file_id references ingest_file`
-- row by row. The check fired a trigger query per row (millions per cold month run) for a
-- guarantee the loader gives by construction: fsm.ingest.load_file inserts a file's ingest_file
-- row and all its staging rows in one transaction, and nothing deletes from ingest_file.
-- ingest_rejects keeps its key: a reject is rare, and its check costs nothing measurable.
alter table stg_markings drop constraint if exists stg_markings_file_id_fkey;
alter table stg_ydelse drop constraint if exists stg_ydelse_file_id_fkey;
alter table stg_tilbud drop constraint if exists stg_tilbud_file_id_fkey;
alter table stg_timer drop constraint if exists stg_timer_file_id_fkey;
alter table stg_uddannelse drop constraint if exists stg_uddannelse_file_id_fkey;
alter table stg_allocations drop constraint if exists stg_allocations_file_id_fkey;
-- Nothing looks markings up by (extract_date, person_key): a snapshot is read by file_id
-- (int_markings_asof, the marking rules), and that index cost a third of each snapshot's load.
drop index if exists stg_markings_extract;
