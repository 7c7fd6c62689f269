"""Playback copies of recordings with personal data silenced (P21, issue 18).

Every playback or sharing of a call's audio with a reviewer or a tenant uses the copy under
``playback/{tenant}/{yyyy}/{mm}/{dd}/{call_id}.wav``; the original stays in ``audio/`` for the
ASR worker and the data subject's own access request (P16), under the audio retention. The copy
is audio too: same retention class, erased with the call (services/dsr.py), purged with the day.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict

from ..core.catalog import CALL_MANIFEST, REDACTED_SEGMENTS, playback_key
from ..core.lineage import LineageContext, row_uri
from ..core.playback import apply_silence, silence_spans, wav_bytes
from ..loaders.audio_files import decode_channels
from ..stores.control_store import ControlStore
from ..stores.warehouse import Warehouse, partition_key

MANIFEST_DATASET, REDACTED_DATASET = CALL_MANIFEST.name, REDACTED_SEGMENTS.name
PLAYBACK_SAMPLE_RATE = 16_000  # the ASR decode rate: calls arrive at 8 kHz, nothing is lost
__all__ = ["PLAYBACK_SAMPLE_RATE", "playback_key", "render_partition"]


def render_partition(
    warehouse: Warehouse,
    tenant_id: str,
    day: str,
    *,
    control: ControlStore | None = None,
    lineage: LineageContext | None = None,
) -> dict:
    """Write the playback copy of every call of the tenant-day that has redacted segments (a call
    with no transcript has no copy: what it holds is unknown). Counts only, never call ids."""
    redacted = warehouse.read_partition(REDACTED_DATASET, tenant_id, day)
    manifest = warehouse.read_partition(MANIFEST_DATASET, tenant_id, day)
    if redacted is None or manifest is None:
        return {"calls": 0, "silenced_calls": 0, "silenced_s": 0.0}
    segments: dict[str, list[dict]] = defaultdict(list)
    for seg in redacted.to_pylist():
        if seg["tenant_id"] != tenant_id:  # P4
            raise ValueError("redacted partition holds another tenant's rows")
        segments[seg["call_id"]].append(seg)
    audio_of = {r["call_id"]: r["audio_key"] for r in manifest.to_pylist() if r["tenant_id"] == tenant_id}
    store, rows = warehouse.store, []
    calls = silenced_calls = 0
    silenced_s = 0.0
    with tempfile.TemporaryDirectory(prefix="ccr-playback-") as tmp:
        for call_id in sorted(segments):
            audio_key = audio_of.get(call_id)
            if not audio_key or not store.exists(audio_key):
                continue  # erased or purged since: nothing to play back
            local = os.path.join(tmp, "a.bin")
            store.download_file(audio_key, local)
            channels = decode_channels(local, sample_rate=PLAYBACK_SAMPLE_RATE)
            spans = silence_spans(segments[call_id])
            out, seconds = apply_silence(channels, spans, PLAYBACK_SAMPLE_RATE)
            key = playback_key(tenant_id, day, call_id)
            store.put_bytes(key, wav_bytes(out, PLAYBACK_SAMPLE_RATE))
            calls += 1
            silenced_calls += 1 if seconds > 0 else 0
            silenced_s += seconds
            rows.append((call_id, key, audio_key))
    if control is not None and lineage is not None and rows:
        red_uri = store.uri(partition_key(REDACTED_DATASET, tenant_id, day))
        control.record_lineage(
            [
                lineage.row(
                    tenant_id=tenant_id,
                    call_id=c,
                    kind="playback_audio",
                    uri=store.uri(k),
                    source_uri=row_uri(red_uri, c),
                )
                for c, k, _a in rows
            ]
        )
    return {"calls": calls, "silenced_calls": silenced_calls, "silenced_s": round(silenced_s, 2)}
