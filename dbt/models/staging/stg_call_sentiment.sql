-- Sentiment per call (issue 19): mean compound in [-1, 1] overall, per speaker, per third.
select
    tenant_id, call_id, tenant_id || '/' || call_id as call_uid, cast(day as date) as day,
    turns, overall, agent, customer, first_third, last_third,
    customer_first_third, customer_last_third, customer_change, negative_end, sentiment_version
from {{ source('ccr', 'call_sentiment') }}
{{ not_restricted("tenant_id || '/' || call_id") }}
