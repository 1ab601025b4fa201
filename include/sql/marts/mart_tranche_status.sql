-- mart_tranche_status — P1–P5: three rows per municipality and as-of month.
-- P4: the grant from the allocation file, else the configured pool (fsm1_budget_dkk) split by
-- target group at start (whole kroner, remainder by largest remainder, ties by municipality code);
-- tranches 30/40/30 to the øre with the rounding difference on tranche 3. P2/P3 are judged on what
-- each earlier month's own snapshot showed (P5), so a later run never moves an earned month.
-- Why a row is (not) earned and where its grant comes from are facts here: basis_code,
-- grant_source_code and basis_args (months, shares, counts, the threshold and pool in force).
-- The sentences (`basis`, `grant_source`) are rendered from them by fsm.report.basis.
with

asof as (
    select * from int_asof_months where written
),

start_group as (  -- P4: target group at project start, as the as-of snapshot shows it
    select as_of_month, kommune_kode, count(*) as n
    from int_target_group
    group by as_of_month, kommune_kode
),

allocations as (  -- the newest allocation file, if any
    select a.kommune_kode, a.grant_dkk
    from stg_allocations as a
    where a.programme = 'FSM1'
        and a.file_id = (
            select max(f.file_id) from ingest_file as f
            where f.feed = 'allocations'
                and exists (select 1 from stg_allocations as x where x.file_id = f.file_id and x.programme = 'FSM1')
        )
),

default_split as (
    select
        s.as_of_month,
        s.kommune_kode,
        {{ fsm1_budget_dkk }} * s.n / sum(s.n) over (partition by s.as_of_month) as exact_share
    from start_group as s
),

largest_remainder as (
    select d.*,
        floor(d.exact_share) as whole,
        row_number() over (partition by d.as_of_month order by d.exact_share - floor(d.exact_share) desc, d.kommune_kode) as rank_,
        {{ fsm1_budget_dkk }} - sum(floor(d.exact_share)) over (partition by d.as_of_month) as leftover
    from default_split as d
),

grants as (
    select
        l.as_of_month,
        l.kommune_kode,
        case
            when exists (select 1 from allocations) then coalesce(al.grant_dkk, 0)
            else l.whole + case when l.rank_ <= l.leftover then 1 else 0 end
        end::numeric(14, 2) as grant_dkk,
        case
            when exists (select 1 from allocations) and al.grant_dkk is not null then 'P4_allocation_file'
            when exists (select 1 from allocations) then 'P4_allocation_missing'
            else 'P4_default_split'
        end as grant_source_code
    from largest_remainder as l
    left join allocations as al on al.kommune_kode = l.kommune_kode
),

coverage_history as (  -- P2: first month whose own snapshot showed full coverage
    select
        a.as_of_month,
        v.kommune_kode,
        min(v.as_of_month) filter (where v.coverage_met) as earned_month
    from asof as a
    inner join mart_visitation_progress_all as v on v.as_of_month <= a.as_of_month
    group by a.as_of_month, v.kommune_kode
),

coverage_then as (
    select v.*
    from mart_visitation_progress_all as v
),

activity_runs as (  -- P3: as of month m, did m and the months before it all meet the threshold?
    select
        s.as_of_month as judged_month,
        s.kommune_kode,
        count(*) filter (where s.meets_threshold) = {{ activity_months_running }}
            and count(*) = {{ activity_months_running }} as run_complete
    from mart_activity_share_all as s
    where s.activity_month > (s.as_of_month - make_interval(months => {{ activity_months_running }}))::date
        and s.activity_month >= {{ project_start }}
    group by s.as_of_month, s.kommune_kode
),

activity_history as (
    select a.as_of_month, r.kommune_kode,
        min(r.judged_month) filter (where r.run_complete) as earned_month
    from asof as a
    inner join activity_runs as r on r.judged_month <= a.as_of_month
    group by a.as_of_month, r.kommune_kode
),

activity_window as (  -- the shares behind the basis, oldest first (a share is null without an indsatsgruppe)
    select s.as_of_month, s.kommune_kode,
        jsonb_agg(s.share_pct order by s.activity_month) as shares,
        jsonb_agg(s.activity_month order by s.activity_month) as months_,
        count(*) filter (where s.meets_threshold) as months_meeting
    from mart_activity_share_all as s
    where s.activity_month > (s.as_of_month - make_interval(months => {{ activity_months_running }}))::date
    group by s.as_of_month, s.kommune_kode
),

amounts as (
    select g.*,
        round(g.grant_dkk * {{ tranche1_pct }} / 100, 2) as t1,
        round(g.grant_dkk * {{ tranche2_pct }} / 100, 2) as t2
    from grants as g
    inner join asof as a using (as_of_month)
),

tranches as (
    select m.as_of_month, m.kommune_kode, m.grant_dkk, m.grant_source_code, t.tranche,
        case t.tranche when 1 then {{ tranche1_pct }} when 2 then {{ tranche2_pct }} else {{ tranche3_pct }} end as tranche_pct,
        case t.tranche when 1 then m.t1 when 2 then m.t2 else m.grant_dkk - m.t1 - m.t2 end as amount_dkk  -- P4: rounding on tranche 3
    from amounts as m
    cross join (values (1), (2), (3)) as t (tranche)
),

decided as (
    select
        t.*,
        case t.tranche
            when 1 then {{ project_start }}::date                                  -- P1
            when 2 then c.earned_month                                            -- P2
            else ah.earned_month                                                  -- P3
        end as earned_month,
        cv_earned.accounted_n as earned_accounted_n,
        cv_earned.target_n    as earned_target_n,
        cv_now.accounted_n    as now_accounted_n,
        cv_now.target_n       as now_target_n,
        cv_now.coverage_pct   as now_coverage_pct,
        aw_earned.shares      as earned_shares,
        aw_earned.months_     as earned_months,
        aw_now.shares         as now_shares,
        aw_now.months_        as now_months,
        aw_now.months_meeting as now_months_meeting
    from tranches as t
    left join coverage_history as c on c.as_of_month = t.as_of_month and c.kommune_kode = t.kommune_kode
    left join coverage_then as cv_earned on cv_earned.as_of_month = c.earned_month and cv_earned.kommune_kode = t.kommune_kode
    left join coverage_then as cv_now on cv_now.as_of_month = t.as_of_month and cv_now.kommune_kode = t.kommune_kode
    left join activity_history as ah on ah.as_of_month = t.as_of_month and ah.kommune_kode = t.kommune_kode
    left join activity_window as aw_earned on aw_earned.as_of_month = ah.earned_month and aw_earned.kommune_kode = t.kommune_kode
    left join activity_window as aw_now on aw_now.as_of_month = t.as_of_month and aw_now.kommune_kode = t.kommune_kode
),

final as (
    select
        d.as_of_month,
        'FSM1'::text as programme,
        d.kommune_kode,
        d.tranche,
        coalesce(k.kommune_navn, d.kommune_kode::text) as kommune_navn,
        d.tranche_pct::numeric(5, 2) as tranche_pct,
        d.grant_dkk,
        d.amount_dkk::numeric(14, 2) as amount_dkk,
        d.earned_month is not null as earned,
        d.earned_month,
        case
            when d.tranche = 1 then 'P1_paid_at_start'
            when d.tranche = 2 and d.earned_month is not null then 'P2_coverage_met'
            when d.tranche = 2 and d.now_target_n is null then 'P2_no_snapshot'
            when d.tranche = 2 then 'P2_coverage_short'
            when d.earned_month is not null then 'P3_activity_met'
            else 'P3_activity_short'
        end as basis_code,
        case
            when d.tranche = 1 then jsonb_build_object('month', d.earned_month)  -- P1
            when d.tranche = 2 and d.earned_month is not null then jsonb_build_object(  -- P2: the month it was earned
                'coverage_pct', round(100.0 * d.earned_accounted_n / d.earned_target_n, 2),
                'accounted_n', d.earned_accounted_n, 'target_n', d.earned_target_n,
                'month', d.earned_month, 'required_pct', {{ coverage_required_pct }})
            when d.tranche = 2 and d.now_target_n is null then jsonb_build_object(  -- P2: nothing to judge yet
                'month', d.as_of_month, 'required_pct', {{ coverage_required_pct }})
            when d.tranche = 2 then jsonb_build_object(  -- P2: not yet, as of this month
                'coverage_pct', d.now_coverage_pct,
                'accounted_n', d.now_accounted_n, 'target_n', d.now_target_n,
                'month', d.as_of_month, 'required_pct', {{ coverage_required_pct }})
            when d.earned_month is not null then jsonb_build_object(  -- P3: the run that earned it
                'shares', d.earned_shares, 'months', d.earned_months,
                'threshold_pct', {{ activity_threshold_pct }}, 'months_running', {{ activity_months_running }})
            else jsonb_build_object(  -- P3: the current window (the as-of month alone when it has no shares)
                'shares', d.now_shares, 'months', coalesce(d.now_months, jsonb_build_array(d.as_of_month)),
                'threshold_pct', {{ activity_threshold_pct }}, 'months_running', {{ activity_months_running }},
                'months_met', coalesce(d.now_months_meeting, 0))
        end
        || case when d.grant_source_code = 'P4_default_split' then jsonb_build_object('pool_dkk', {{ fsm1_budget_dkk }}) else '{}' end
        as basis_args,
        d.grant_source_code
    from decided as d
    left join ref_kommuner as k on k.kommune_kode = d.kommune_kode
)

select * from final
