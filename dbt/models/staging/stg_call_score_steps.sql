-- Per-step results, unnested from call_scores.results_json (one source, one asset upstream).
with steps as (
    select tenant_id, call_id, day,
        unnest(from_json(results_json,
            '[{"question": "VARCHAR", "step": "VARCHAR", "status": "VARCHAR", "points": "DOUBLE", "possible": "DOUBLE"}]'
        )) as r
    from {{ source('ccr', 'call_scores') }}
    {{ not_restricted("tenant_id || '/' || call_id") }}
)
select tenant_id, call_id, tenant_id || '/' || call_id as call_uid, cast(day as date) as day,
    r.question as question, r.step as step, r.status as status, r.points as points, r.possible as possible
from steps
