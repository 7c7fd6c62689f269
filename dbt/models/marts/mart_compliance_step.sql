-- Script compliance per step (recording and AI disclosure are P23 commitments).
select
    tenant_id, cast(date_trunc('month', day) as date) as month, step,
    count(*) filter (where status <> 'not_applicable') as applicable_calls,
    count(*) filter (where status = 'passed') as passed_calls,
    count(*) filter (where status = 'passed') * 1.0
        / nullif(count(*) filter (where status <> 'not_applicable'), 0) as compliance_rate
from {{ ref('stg_call_score_steps') }}
group by 1, 2, 3
