"""Scored days written by the pipeline's own steps (metrics_partition, score_partition), for the
marts and report tests: a manifest and redacted segments per call, then the real metrics and scorer."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from ccr_pipelines.core.tenants import Tenant
from ccr_pipelines.services.ingest import MANIFEST_DATASET, MANIFEST_SCHEMA
from ccr_pipelines.services.metrics import metrics_partition
from ccr_pipelines.services.redact import REDACTED_DATASET, REDACTED_SCHEMA
from ccr_pipelines.services.score import score_partition
from ccr_pipelines.stores.control_store import ControlStore
from ccr_pipelines.stores.warehouse import Warehouse

# What an agent says on a call: "good" follows the globex-support.v1 script, "bad" skips the disclosure.
TEXTS = {
    "good": [
        "Hello, thank you for calling Globex support, my name is Sam.",
        "This call is recorded.",
        "How can I help you?",
        "I will reset your line.",
        "Thank you for calling, goodbye.",
    ],
    "bad": ["Hello.", "Goodbye."],
    # issue 19: calls with a customer (a driver, a sentiment): (speaker, text)
    "billing": [
        "Hello, thank you for calling Globex support, my name is Sam.",
        ("customer", "Hi, I have a question about my bill."),
        "I will send you a corrected invoice.",
        ("customer", "Thank you so much, that's perfect."),
        "Thank you for calling, goodbye.",
    ],
    "angry": [
        "Hello.",
        ("customer", "My internet connection is not working again."),
        ("customer", "This is unacceptable, I am furious, you are useless."),
        "Goodbye.",
    ],
}


def write_scored_day(
    wh: Warehouse,
    control: ControlStore,
    scorecard: str,
    tenant: str,
    day: str,
    calls: dict[str, str | tuple[str, str, str]],
) -> None:
    """*calls*: call id -> kind, or (kind, agent_id, team). Runs metrics and scoring for real."""
    manifest, segs = [], []
    for call_id, spec in calls.items():
        kind, agent, team = (spec, "ag-1", "team-a") if isinstance(spec, str) else spec
        manifest.append(
            {
                "tenant_id": tenant,
                "call_id": call_id,
                "day": day,
                "source_key": "k",
                "audio_key": "a",
                "etag": "e",
                "sha256": "0" * 64,
                "size_bytes": 1,
                "duration_s": 30.0,
                "sample_rate": 16000,
                "channels": 2,
                "codec": "flac",
                "container": "flac",
                "agent_id": agent,
                "team": team,
                "subject_hashes": [],
                "has_sidecar": True,
                "ingested_at": datetime.now(UTC),
                "run_id": "r",
            }
        )
        for i, line in enumerate(TEXTS[kind]):
            speaker, t = line if isinstance(line, tuple) else ("agent", line)
            segs.append(
                {
                    "tenant_id": tenant,
                    "call_id": call_id,
                    "segment_index": i,
                    "speaker": speaker,
                    "channel": 0 if speaker == "agent" else 1,
                    "start_s": 3.0 * i,
                    "end_s": 3.0 * i + 2.5,
                    "text": t,
                    "avg_logprob": -0.1,
                    "speech_regions": [[3.0 * i, 3.0 * i + 2.5]],
                    "pii_phone": 0,
                    "pii_email": 0,
                    "pii_card": 0,
                    "pii_iban": 0,
                    "pii_nir": 0,
                    "redactor_version": "x",
                }
            )
    wh.write_partition(MANIFEST_DATASET, tenant, day, pa.Table.from_pylist(manifest, schema=MANIFEST_SCHEMA))
    wh.write_partition(REDACTED_DATASET, tenant, day, pa.Table.from_pylist(segs, schema=REDACTED_SCHEMA))
    metrics_partition(wh, tenant, day)
    score_partition(wh, control, Tenant(id=tenant, display_name=tenant, languages=["en"], scorecard=scorecard), day)
