-- V003 (P5): from which as-of month a delivery counts. The first delivery of a register month
-- counts from that month; a corrected redelivery counts from the month of the run that loaded
-- it, so rerunning an earlier month reproduces what it said before the correction arrived.
alter table ingest_file add column if not exists visible_from date;
update ingest_file set visible_from = period where visible_from is null;
-- Left nullable: a row without it (a hand-loaded delivery) counts from its own period.
