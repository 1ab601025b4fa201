-- V012: the planner's estimate of a benefit file's month. A monthly file holds its own month's weeks and a
-- few of the next month's, so file_id and week_month are nearly functionally dependent; assumed independent,
-- "file 23, week_month 2018-06" was estimated at 1,717 rows for 180,105 at national scale, and two marking
-- rules (revalidering_without_group2, fsm2_gr2_outside_target_group) ran an anti join as a nested loop over
-- every snapshot version: 4.3 s and 1.0 s a month, 0.03 s and 0.19 s with these statistics (bench_backfill,
-- national). ANALYZE (once per feed at ingest) keeps them current.
create statistics if not exists stg_ydelse_file_month_dep (dependencies, mcv) on file_id, week_month from stg_ydelse;
analyze stg_ydelse;
