"""redacted_transcripts: the restricted text is redacted into the analytics table; a second
pass finds nothing (blocking check); other tenants' rows are refused (P4, P21)."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa
import pytest

from ccr_pipelines.defs.analyze.assets import NO_PII_LEFT_CHECK, redacted_transcripts
from ccr_pipelines.resources import ControlStoreResource, ObjectStoreResource, TenantRegistryResource, WarehouseResource
from ccr_pipelines.services.redact import REDACTED_DATASET, redact_partition
from ccr_pipelines.services.transcribe import SEGMENTS_DATASET, SEGMENTS_SCHEMA, SEGMENTS_ZONE
from ccr_pipelines.stores.object_store import LocalObjectStore
from ccr_pipelines.stores.warehouse import Warehouse

DAY = "2026-11-16"


def _segments(tenant: str, texts: list[str]) -> pa.Table:
    rows = [
        {
            "tenant_id": tenant,
            "call_id": f"c-{i // 2}",
            "segment_index": i,
            "speaker": "customer",
            "channel": 1,
            "start_s": float(i),
            "end_s": i + 0.9,
            "text": t,
            "avg_logprob": -0.2,
            "no_speech_prob": None,
            "compression_ratio": 1.0,
            "speech_regions": [[float(i), i + 0.9]],
        }
        for i, t in enumerate(texts)
    ]
    return pa.Table.from_pylist(rows, schema=SEGMENTS_SCHEMA)


def test_p21_redacted_table_holds_placeholders_and_counts_never_values(tmp_path, tenants_file):
    store = LocalObjectStore(tmp_path / "objects")
    Warehouse(store).write_partition(
        SEGMENTS_DATASET,
        "acme-energie",
        DAY,
        _segments(
            "acme-energie",
            [
                "Rappelez-moi au 06 12 34 56 78.",
                "Mon mail est jean.dupont@exemple.fr",
                "Ma carte 4970 1012 3456 7893",
                "Bonjour, je voudrais résilier.",
            ],
        ),
        zone=SEGMENTS_ZONE,
    )
    os_res = ObjectStoreResource(kind="local", root=str(store.root))
    result = dg.materialize(
        [redacted_transcripts],
        partition_key=DAY,
        resources={
            "warehouse": WarehouseResource(object_store=os_res),
            "tenant_registry": TenantRegistryResource(path=str(tenants_file)),
            "object_store": os_res,
            "control_store": ControlStoreResource(url=f"sqlite:///{tmp_path}/control.db"),
        },
        run_config={"ops": {"silver__analyze__redacted_segments": {"config": {"tenant_id": "acme-energie"}}}},
    )
    md = result.get_asset_materialization_events()[0].materialization.metadata
    assert (md["pii_phone"].value, md["pii_email"].value, md["pii_card"].value) == (1, 1, 1)
    assert [c.passed for c in result.get_asset_check_evaluations() if c.check_name == NO_PII_LEFT_CHECK] == [True]
    texts = Warehouse(store).read_partition(REDACTED_DATASET, "acme-energie", DAY).column("text").to_pylist()
    assert texts == [
        "Rappelez-moi au [PHONE].",
        "Mon mail est [EMAIL]",
        "Ma carte [CARD]",
        "Bonjour, je voudrais résilier.",
    ]
    assert "06 12" not in str({k: v for k, v in md.items()})
    # the analytics table lives outside the restricted zone, the source stays inside it
    assert store.exists(f"datasets/acme-energie/{REDACTED_DATASET}/day={DAY}/part.parquet")
    assert store.exists(f"restricted/acme-energie/{SEGMENTS_DATASET}/day={DAY}/part.parquet")


def test_p4_a_restricted_partition_with_another_tenants_rows_is_refused(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    wh = Warehouse(store)
    # written around the warehouse guard, as a corrupted file would be
    import pyarrow.parquet as pq

    path = store.root / f"restricted/acme-energie/{SEGMENTS_DATASET}/day={DAY}/part.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(_segments("globex-support", ["hello"]), path)
    with pytest.raises(ValueError, match="another tenant"):
        redact_partition(wh, "acme-energie", DAY)


def test_no_segments_gives_an_empty_result(tmp_path):
    assert redact_partition(Warehouse(LocalObjectStore(tmp_path / "o")), "acme-energie", DAY)["segments"] == 0


@pytest.mark.parametrize(
    "tenant,needle",
    [("initech-paused", "suspended (P12)"), ("nobody-here", "unknown tenant"), ("../acme", "not a valid tenant id")],
)
def test_p12_suspended_unknown_or_malformed_tenants_in_config_fail_the_run(tmp_path, tenants_file, tenant, needle):
    os_res = ObjectStoreResource(kind="local", root=str(tmp_path / "objects"))
    result = dg.materialize(
        [redacted_transcripts],
        partition_key=DAY,
        raise_on_error=False,
        resources={
            "warehouse": WarehouseResource(object_store=os_res),
            "tenant_registry": TenantRegistryResource(path=str(tenants_file)),
            "object_store": os_res,
            "control_store": ControlStoreResource(url=f"sqlite:///{tmp_path}/control.db"),
        },
        run_config={"ops": {"silver__analyze__redacted_segments": {"config": {"tenant_id": tenant}}}},
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert needle in failure.event_specific_data.error.message
