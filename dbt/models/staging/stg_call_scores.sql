select
    tenant_id, call_id, tenant_id || '/' || call_id as call_uid, cast(day as date) as day,
    score, auto_failed, needs_review, review_status, confidence, scorer_version, scorecard_version
from {{ source('ccr', 'call_scores') }}
{{ not_restricted("tenant_id || '/' || call_id") }}
