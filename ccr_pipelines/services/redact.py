"""Redaction step (P21): restricted transcript segments -> redacted segments for analytics.

``redacted_segments`` (datasets zone) is the only transcript table analytics
may read; the raw text stays in the restricted zone with its short retention.
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa

from ..core.catalog import REDACTED_SEGMENTS, TRANSCRIPT_SEGMENTS
from ..core.lineage import LineageContext, row_uri
from ..core.redaction import TYPES
from ..stores.control_store import ControlStore
from ..stores.warehouse import Warehouse, partition_key

SEGMENTS_DATASET, SEGMENTS_ZONE = TRANSCRIPT_SEGMENTS.name, TRANSCRIPT_SEGMENTS.zone
# The dataset this service writes (core/catalog.py); the names stay for callers that used them.
REDACTED_DATASET, REDACTED_SCHEMA = REDACTED_SEGMENTS.name, REDACTED_SEGMENTS.schema
REDACTOR_VERSION = "redaction-5"  # bump when the rules change: downstream rescoring keys on it
# redaction-3: Presidio + spaCy NER (names, addresses, dates of birth, spelled letters, NANP phones, 7+ digit runs)
# redaction-4: names after a title in lower case, kinship/role/"reach" cues, name particles join one span
# redaction-5: the tenant's script as the ASR heard it is no name (« C'est appelé Tangistré »: "appelé" is
#              a name cue, and the disclosure was redacted away before scoring could hear it)


def redact_partition(
    warehouse: Warehouse,
    tenant_id: str,
    day: str,
    *,
    control: ControlStore | None = None,
    lineage: LineageContext | None = None,
    script=None,
) -> dict:
    """Rewrite the tenant-day's redacted table from its restricted segments; return counts only.
    With *control* and *lineage*, one lineage row per call's redacted rows (P13). *script*: the
    tenant's ``Scorecard.heard_script()``, whose spans are not taken for names."""
    source = warehouse.read_partition(SEGMENTS_DATASET, tenant_id, day, zone=SEGMENTS_ZONE)
    if source is None:
        return {"segments": 0, "calls": 0, **{f"pii_{t}": 0 for t in TYPES}}
    from ..core.pii_engine import redact_batch  # spaCy loads here, never in the code location

    totals: Counter = Counter()
    rows = []
    segments = source.to_pylist()
    if any(seg["tenant_id"] != tenant_id for seg in segments):  # P4
        raise ValueError("restricted partition holds another tenant's rows")
    for seg, (text, counts) in zip(
        segments, redact_batch([seg["text"] or "" for seg in segments], script), strict=True
    ):
        totals.update(counts)
        rows.append(
            {
                k: seg.get(k)
                for k in (
                    "tenant_id",
                    "call_id",
                    "segment_index",
                    "speaker",
                    "channel",
                    "start_s",
                    "end_s",
                    "avg_logprob",
                    "speech_regions",
                    "no_speech",
                )
            }
            | {"text": text, **{f"pii_{t}": counts[t] for t in TYPES}, "redactor_version": REDACTOR_VERSION}
        )
    info = warehouse.write_partition(
        REDACTED_DATASET, tenant_id, day, pa.Table.from_pylist(rows, schema=REDACTED_SCHEMA)
    )
    if control is not None and lineage is not None:
        out_uri = warehouse.store.uri(info.key)
        src_uri = warehouse.store.uri(partition_key(SEGMENTS_DATASET, tenant_id, day, SEGMENTS_ZONE))
        control.record_lineage(
            [
                lineage.row(
                    tenant_id=tenant_id,
                    call_id=c,
                    kind="redacted_transcript",
                    uri=row_uri(out_uri, c),
                    source_uri=row_uri(src_uri, c),
                )
                for c in sorted({r["call_id"] for r in rows})
            ]
        )
    return {
        "segments": len(rows),
        "calls": len({r["call_id"] for r in rows}),
        **{f"pii_{t}": totals[t] for t in TYPES},
        "partition_object": info.key,
    }
