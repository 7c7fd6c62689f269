-- Call cards (issue 19): the call's driver and outcome; the commitments' quotes stay in the
-- dataset (redacted text), the marts count them.
select
    tenant_id, call_id, tenant_id || '/' || call_id as call_uid, cast(day as date) as day,
    driver, driver_s, solution_status, closing_sentiment, closing_label, outcome, commitments_n, card_version
from {{ source('ccr', 'call_cards') }}
{{ not_restricted("tenant_id || '/' || call_id") }}
