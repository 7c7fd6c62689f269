"""Issue 18, P21: the recording reviewers hear has its personal data silenced.

The playback copy of a call silences, on every channel, each turn in which the redactor found
personal data (padded by PAD_S); the rest of the call is untouched, the original stays under
audio/, the copy lives under playback/ with the audio retention and goes with the call's erasure.
Run on real stores (a directory and a real S3 endpoint) through real ingestion and Dagster.
"""

from __future__ import annotations

import io
import wave
from datetime import date

import dagster as dg
import numpy as np
import pyarrow as pa
import pytest

from ccr_pipelines.core.playback import PAD_S, apply_silence, pii_count, silence_spans, wav_bytes
from ccr_pipelines.services.ingest import IngestEnv, ingest_batch
from ccr_pipelines.services.playback import PLAYBACK_SAMPLE_RATE, playback_key, render_partition
from ccr_pipelines.services.redact import REDACTED_DATASET, REDACTED_SCHEMA
from ccr_pipelines.stores.control_store import ControlStore, lineage
from ccr_pipelines.stores.warehouse import Warehouse

from .ingest_helpers import PREFIX, SECRET, registry, sidecar

T, DAY = "acme-energie", "2026-11-16"


def _seg(call_id: str, index: int, start: float, end: float, *, channel: int = 0, phone: int = 0, person: int = 0):
    row = {k: None for k in REDACTED_SCHEMA.names}
    row.update(
        tenant_id=T,
        call_id=call_id,
        segment_index=index,
        speaker="customer",
        channel=channel,
        start_s=start,
        end_s=end,
        text="[PHONE]" if phone else "bonjour",
        avg_logprob=-0.2,
        speech_regions=[[start, end]],
        redactor_version="redaction-3",
        no_speech=False,
    )
    for name in REDACTED_SCHEMA.names:
        if name.startswith("pii_"):
            row[name] = 0
    row["pii_phone"], row["pii_person"] = phone, person
    return row


def _tone_wav(seconds: float, channels: int, rate: int = 8000) -> bytes:
    """A loud tone on every channel (a distinct frequency each): silence is unmistakable."""
    t = np.arange(int(seconds * rate)) / rate
    chans = [0.5 * np.sin(2 * np.pi * (300 + 200 * c) * t) for c in range(channels)]
    return wav_bytes(chans, rate)


def _decode(data: bytes) -> list[np.ndarray]:
    """The playback copy's channels, read back with the standard library's WAV reader."""
    with wave.open(io.BytesIO(data)) as w:
        n, frames = w.getnchannels(), w.readframes(w.getnframes())
    arr = np.frombuffer(frames, dtype="<i2").reshape(-1, n).astype(np.float32) / 32767.0
    return [arr[:, c] for c in range(n)]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


# -- pure rules ---------------------------------------------------------------------------------


def test_p21_only_turns_holding_personal_data_are_silenced_padded_and_merged():
    segs = [
        _seg("c", 0, 0.0, 2.0),
        _seg("c", 1, 3.0, 4.0, phone=1),
        _seg("c", 2, 4.3, 5.0, person=2),
        _seg("c", 3, 9.0, 9.5),
    ]
    assert [pii_count(s) for s in segs] == [0, 1, 2, 0]
    # 3.0-4.0 and 4.3-5.0, each widened by PAD_S, touch: one span
    assert silence_spans(segs) == [(3.0 - PAD_S, 5.0 + PAD_S)]
    assert silence_spans(segs[:1] + segs[3:]) == []


def test_p21_a_turn_is_silenced_on_every_channel_not_only_its_speakers():
    rate = 1000
    chans = [np.ones(5 * rate, np.float32), np.ones(5 * rate, np.float32)]
    out, seconds = apply_silence(chans, [(1.0, 2.0)], rate)
    for ch in out:
        assert np.all(ch[1000:2000] == 0.0) and np.all(ch[:1000] == 1.0) and np.all(ch[2000:] == 1.0)
    assert seconds == pytest.approx(1.0)
    assert np.all(chans[0] == 1.0)  # the input is left alone


# -- the service on real stores, after real ingestion -------------------------------------------


def _ingested_day(object_store, tmp_path, channels: int):
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    wh = Warehouse(object_store)
    object_store.put_bytes(PREFIX + "c-1.json", sidecar(customer_phone="+33 6 12 34 56 78"))
    object_store.put_bytes(PREFIX + "c-1.wav", _tone_wav(8.0, channels))
    env = IngestEnv(
        store=object_store,
        control=control,
        warehouse=wh,
        registry=registry(),
        secret=SECRET,
        run_id="r-1",
        today=date(2026, 11, 20),
        max_duration_s=600.0,
    )
    assert ingest_batch(env, None, tenant_id=T, day=DAY).outcomes["accepted"] == 1
    return wh, control


@pytest.mark.parametrize("channels", [1, 2])
def test_p21_the_playback_copy_is_silent_where_the_redactor_found_a_phone_number_and_intact_elsewhere(
    object_store, tmp_path, channels
):
    wh, control = _ingested_day(object_store, tmp_path, channels)
    original = object_store.get_bytes(f"audio/{T}/2026/11/16/c-1.wav")
    wh.write_partition(
        REDACTED_DATASET,
        T,
        DAY,
        pa.Table.from_pylist(
            [_seg("c-1", 0, 0.5, 2.0), _seg("c-1", 1, 3.0, 4.5, channel=channels - 1, phone=1)], schema=REDACTED_SCHEMA
        ),
    )
    from ccr_pipelines.core.lineage import LineageContext

    ctx = LineageContext(
        run_id="run-p",
        asset_key="silver/analyze/playback_audio",
        partition_key=DAY,
        code_version="playback-1",
        engine="ccr playback-1",
        region="local",
    )
    counts = render_partition(wh, T, DAY, control=control, lineage=ctx)
    assert counts == {"calls": 1, "silenced_calls": 1, "silenced_s": pytest.approx(1.5 + 2 * PAD_S, abs=0.01)}
    assert "c-1" not in str(counts)
    out = _decode(object_store.get_bytes(playback_key(T, DAY, "c-1")))
    assert len(out) == channels
    r = PLAYBACK_SAMPLE_RATE
    for ch in out:
        assert len(ch) == pytest.approx(8.0 * r, abs=r * 0.05)
        assert _rms(ch[int((3.0 - PAD_S) * r) : int((4.5 + PAD_S) * r)]) == 0.0  # the phone number's turn
        assert _rms(ch[int(0.5 * r) : int(2.0 * r)]) > 0.2  # a turn without personal data
        assert _rms(ch[int(5.5 * r) : int(7.5 * r)]) > 0.2
    # the original is untouched; the copy's lineage points at the redacted rows it followed
    assert object_store.get_bytes(f"audio/{T}/2026/11/16/c-1.wav") == original
    rows = control.fetch(lineage.select().where(lineage.c.artefact_kind == "playback_audio"))
    assert [(r["call_id"], r["tenant_id"]) for r in rows] == [("c-1", T)]
    assert "redacted_segments" in rows[0]["source_uri"]
    control.dispose()


def test_p21_a_call_without_redacted_segments_gets_no_playback_copy(object_store, tmp_path):
    wh, control = _ingested_day(object_store, tmp_path, 1)
    assert render_partition(wh, T, DAY) == {"calls": 0, "silenced_calls": 0, "silenced_s": 0.0}
    assert not object_store.exists(playback_key(T, DAY, "c-1"))
    control.dispose()


def test_p4_a_redacted_partition_holding_another_tenants_rows_is_refused(object_store, tmp_path):
    wh, control = _ingested_day(object_store, tmp_path, 1)
    import pyarrow.parquet as pq

    from ccr_pipelines.stores.warehouse import partition_key

    # the warehouse refuses to write such a partition: plant it as a tampered or mis-copied file would be
    bad = _seg("c-1", 0, 0.0, 1.0) | {"tenant_id": "globex-support"}
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([bad], schema=REDACTED_SCHEMA), buf)
    object_store.put_bytes(partition_key(REDACTED_DATASET, T, DAY), buf.getvalue())
    with pytest.raises(ValueError, match="another tenant"):
        render_partition(wh, T, DAY)
    assert not object_store.exists(playback_key(T, DAY, "c-1"))
    control.dispose()


# -- through Dagster: the asset, and the sensor the daemon ticks ------------------------------


def test_p21_the_playback_asset_runs_from_the_redaction_sensor_with_counts_only_metadata(tmp_path, tenants_file):
    from ccr_pipelines.defs.analyze.assets import REDACTED_KEY, playback_audio
    from ccr_pipelines.defs.analyze.sensors import redacted_to_playback_sensor
    from ccr_pipelines.resources import (
        ControlStoreResource,
        ObjectStoreResource,
        TenantRegistryResource,
        WarehouseResource,
    )
    from ccr_pipelines.stores.object_store import LocalObjectStore

    object_store = LocalObjectStore(tmp_path / "objects")  # the Dagster path is the same for both stores
    wh, control = _ingested_day(object_store, tmp_path, 2)
    wh.write_partition(
        REDACTED_DATASET, T, DAY, pa.Table.from_pylist([_seg("c-1", 0, 1.0, 2.0, phone=1)], schema=REDACTED_SCHEMA)
    )
    os_res = ObjectStoreResource(kind="local", root=str(object_store.root))
    resources = {
        "object_store": os_res,
        "warehouse": WarehouseResource(object_store=os_res),
        "control_store": ControlStoreResource(url=f"sqlite:///{tmp_path}/control.db"),
        "tenant_registry": TenantRegistryResource(path=str(tenants_file)),
    }
    instance = dg.DagsterInstance.ephemeral()
    # the redaction run's materialization is what the fan-out sensor reads
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=REDACTED_KEY, partition=DAY, metadata={"segments": 1, "tenant_id": T})
    )
    defs = dg.Definitions(assets=[playback_audio], sensors=[redacted_to_playback_sensor], resources=resources)
    with dg.build_sensor_context(
        instance=instance, definitions=defs, resources=resources, sensor_name=redacted_to_playback_sensor.name
    ) as ctx:
        result = redacted_to_playback_sensor(ctx)
    [rr] = result.run_requests
    assert rr.partition_key == DAY and "c-1" not in str(rr.run_config)
    run = dg.materialize(
        [playback_audio],
        instance=instance,
        resources=resources,
        partition_key=rr.partition_key,
        run_config=rr.run_config,
        tags=rr.tags,
    )
    assert run.success
    [mat] = run.get_asset_materialization_events()
    md = mat.materialization.metadata
    assert md["calls"].value == 1 and md["silenced_calls"].value == 1
    assert "c-1" not in str(md) and object_store.exists(playback_key(T, DAY, "c-1"))
    control.dispose()


def test_p19_playback_copies_are_audio_for_retention_and_purged_with_the_day(tmp_path):
    from ccr_pipelines.core.tenants import Tenant, TenantRegistry
    from ccr_pipelines.services.retention import PurgeEnv, run_purge
    from ccr_pipelines.stores.object_store import LocalObjectStore
    from ccr_tools.infra_policies import ZONE_CLASS

    assert ZONE_CLASS["playback"] == "audio"  # lifecycle bound of the zone (infra policies)
    store = LocalObjectStore(tmp_path / "objects")
    old, recent = playback_key(T, "2026-06-01", "c-1"), playback_key(T, "2026-11-19", "c-2")
    store.put_bytes(old, b"RIFF-old")
    store.put_bytes(recent, b"RIFF-recent")
    control = ControlStore("sqlite://")
    control.migrate()
    registry = TenantRegistry(
        [Tenant(id=T, display_name="A", languages=["fr"], scorecard="x.v1", retention_days={"audio": 30})]
    )
    env = PurgeEnv(
        store=store, warehouse=Warehouse(store), control=control, registry=registry, today=date(2026, 11, 20)
    )
    summary = run_purge(env, dry_run=False)
    assert summary["objects"] == 1
    assert not store.exists(old) and store.exists(recent)
    control.dispose()
