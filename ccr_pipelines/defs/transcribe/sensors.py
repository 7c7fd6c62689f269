"""Transcribe each tenant-day whose call manifest gained calls."""

from ..ingest.assets import CALL_MANIFEST_KEY
from ..shared.fanout import metadata_count, tenant_fanout_sensor
from .assets import transcripts

manifest_to_transcripts_sensor = tenant_fanout_sensor(
    name="manifest_to_transcripts_sensor",
    upstream=CALL_MANIFEST_KEY,
    downstream=transcripts,
    had_work=lambda md: metadata_count(md, "accepted", "rebuilt") > 0,
    description=(
        "Requests a transcripts run for each day whose call manifests gained accepted calls, over all of "
        "that day's tenants with new calls: one worker launch for them, models loaded once (issue 21)."
    ),
    batch_tenants=True,
)
