select
    s.tenant_id, cast(date_trunc('month', s.day) as date) as month,
    count(*) as calls, avg(s.score) as avg_score,
    sum(case when s.auto_failed then 1 else 0 end) as auto_failed,
    sum(case when s.needs_review then 1 else 0 end) as needs_review
from {{ ref('stg_call_scores') }} s
group by 1, 2
