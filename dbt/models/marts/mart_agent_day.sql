-- One row per tenant, day and agent. Every aggregate is grouped by tenant (P4).
select
    m.tenant_id, m.day, coalesce(m.agent_id, 'unknown') as agent_id,
    count(*) as calls,
    avg(s.score) as avg_score,
    avg(case when s.auto_failed then 1.0 else 0.0 end) as auto_fail_rate,
    sum(case when s.needs_review then 1 else 0 end) as needs_review,
    avg(x.agent_talk_ratio) as avg_agent_talk_ratio,
    sum(m.duration_s) as total_duration_s
from {{ ref('stg_call_manifest') }} m
join {{ ref('stg_call_scores') }} s on s.call_uid = m.call_uid
left join {{ ref('stg_call_metrics') }} x on x.call_uid = m.call_uid
group by 1, 2, 3
