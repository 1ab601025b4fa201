-- mart_fsm2_requirement — F6, F8: per as-of month, municipality and threshold (15 %, 20 %):
-- met in the first month whose result share reached the threshold, judged on what that
-- month's own run saw (P5); the exact fraction decides, not the rounded share.
-- Why is a fact here (basis_code, basis_args: the share, counts, month and threshold); the
-- sentence `basis` is rendered from it by fsm.report.basis.
with

own_month as (  -- each month as its own as-of run saw it (ALL origins)
    select r.kommune_kode, r.activity_month, r.indsatsgruppe_n, r.active_n, r.share_pct
    from mart_fsm2_result_all as r
    where r.herkomst = 'ALL' and r.as_of_month = r.activity_month
),

written as (
    select as_of_month from int_asof_months where written and as_of_month >= {{ fsm2_first_month }}::date
),

thresholds as (
    select unnest({{ fsm2_thresholds_pct }}) as threshold_pct
),

judged as (
    select w.as_of_month, o.kommune_kode, t.threshold_pct, o.activity_month, o.indsatsgruppe_n, o.active_n, o.share_pct,
        o.indsatsgruppe_n > 0 and o.active_n * 100 >= t.threshold_pct * o.indsatsgruppe_n as meets
    from written as w
    cross join thresholds as t
    inner join own_month as o on o.activity_month <= w.as_of_month
),

first_met as (
    select distinct on (as_of_month, kommune_kode, threshold_pct)
        as_of_month, kommune_kode, threshold_pct, activity_month, indsatsgruppe_n, active_n, share_pct
    from judged
    where meets
    order by as_of_month, kommune_kode, threshold_pct, activity_month
),

best as (
    select distinct on (as_of_month, kommune_kode, threshold_pct)
        as_of_month, kommune_kode, threshold_pct, activity_month, share_pct
    from judged
    order by as_of_month, kommune_kode, threshold_pct, share_pct desc nulls last, activity_month
),

final as (
    select
        b.as_of_month,
        b.kommune_kode,
        b.threshold_pct::numeric(5, 2) as threshold_pct,
        f.activity_month is not null as met,
        f.activity_month as met_month,
        case when f.activity_month is not null then 'F8_met' else 'F8_not_met' end as basis_code,
        case
            when f.activity_month is not null then jsonb_build_object(  -- F8: the first month at the threshold
                'share_pct', f.share_pct, 'active_n', f.active_n, 'indsatsgruppe_n', f.indsatsgruppe_n,
                'month', f.activity_month, 'threshold_pct', b.threshold_pct)
            else jsonb_build_object(  -- F8: not yet; the best month so far
                'share_pct', b.share_pct, 'month', b.activity_month, 'threshold_pct', b.threshold_pct)
        end as basis_args
    from best as b
    left join first_met as f using (as_of_month, kommune_kode, threshold_pct)
)

select * from final
