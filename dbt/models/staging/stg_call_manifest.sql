-- Accepted calls; identifiers of people appear only as keyed hashes upstream.
select
    tenant_id,
    call_id,
    tenant_id || '/' || call_id as call_uid,
    cast(day as date) as day,
    sha256,
    duration_s,
    sample_rate,
    channels,
    codec,
    size_bytes,
    agent_id,
    team,
    direction,
    campaign,
    script_id,
    started_at,
    language,
    customer_ref_hash,
    recording_notice,
    ingested_at,
    run_id
from {{ source('ccr', 'call_manifest') }}
{{ not_restricted("tenant_id || '/' || call_id") }}
