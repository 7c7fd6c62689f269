select
    m.tenant_id, cast(date_trunc('week', m.day) as date) as week, coalesce(m.team, 'unknown') as team,
    count(*) as calls, avg(s.score) as avg_score,
    avg(case when s.auto_failed then 1.0 else 0.0 end) as auto_fail_rate
from {{ ref('stg_call_manifest') }} m
join {{ ref('stg_call_scores') }} s on s.call_uid = m.call_uid
group by 1, 2, 3
