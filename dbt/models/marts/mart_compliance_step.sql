-- Script compliance per step (recording and AI disclosure are P23 commitments). A step whose
-- speaker could not be verified (`unverifiable`: speech of unknown role, e.g. a mono call) is
-- neither a pass nor a failure: it leaves the denominator like `not_applicable` and is counted.
select
    tenant_id, cast(date_trunc('month', day) as date) as month, step,
    count(*) filter (where status not in ('not_applicable', 'unverifiable')) as applicable_calls,
    count(*) filter (where status = 'passed') as passed_calls,
    count(*) filter (where status = 'unverifiable') as unverifiable_calls,
    count(*) filter (where status = 'passed') * 1.0
        / nullif(count(*) filter (where status not in ('not_applicable', 'unverifiable')), 0) as compliance_rate
from {{ ref('stg_call_score_steps') }}
group by 1, 2, 3
