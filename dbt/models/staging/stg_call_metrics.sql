select
    tenant_id, call_id, tenant_id || '/' || call_id as call_uid, cast(day as date) as day,
    duration_s, agent_talk_s, customer_talk_s, agent_talk_ratio, non_talk_s, longest_gap_s,
    overlap_s, interruptions, turns, agent_wpm, longest_monologue_s
from {{ source('ccr', 'call_metrics') }}
{{ not_restricted("tenant_id || '/' || call_id") }}
