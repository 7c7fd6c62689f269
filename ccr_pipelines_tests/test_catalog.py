"""The catalogue of datasets and object keys (core/catalog.py, issue 20): every dataset the code
writes is in it, every key builder refuses an id that could escape its prefix (P4), the retention
purge covers every catalogued dataset and object kind (P19), and the asset keys it names are the
code location's."""

from __future__ import annotations

import ast
import inspect
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from ccr_pipelines.core import catalog
from ccr_pipelines.core.errors import InvalidKeyError
from ccr_pipelines.core.keys import tenant_of_key
from ccr_pipelines.core.quality import SUITES
from ccr_pipelines.core.retention import ALL_DATASETS, DATASET_CLASSES, OBJECT_CLASSES
from ccr_pipelines.core.tenants import DEFAULT_RETENTION_DAYS, Tenant, TenantRegistry

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "ccr_pipelines"
T, DAY, CALL, SHA = "acme-energie", "2026-11-17", "c-1", "0123456789abcdef" * 4
NAMES = {d.name for d in catalog.DATASETS}


def _modules(*folders: str):
    for folder in folders:
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            if path.name != "catalog.py":
                yield path, ast.parse(path.read_text(encoding="utf-8"))


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


# -- datasets ---------------------------------------------------------------------------------------
DATASET_CALLS = {
    "write_partition": 0,
    "read_partition": 0,
    "partitions": 0,
    "partition_key": 0,
    "dataset_prefix": 0,
    "_merge": 1,
}


def test_every_dataset_the_code_names_is_catalogued_and_no_module_types_a_dataset_name_again():
    """Every Warehouse write, read, listing and partition key in the package takes its dataset from the
    catalogue: no dataset argument, ``dataset=`` default or (zone, dataset) pair is a string typed again.
    (A lineage artefact kind or an export field may share a dataset's name: those are other names.)"""
    typed = []
    for path, tree in _modules("core", "services", "defs", "stores", "asr", "demo"):
        where = str(path.relative_to(REPO))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                i = DATASET_CALLS.get(name)
                args = ([node.args[i]] if i is not None and len(node.args) > i else []) + [
                    k.value for k in node.keywords if k.arg == "dataset"
                ]
                typed += [f"{where}:{node.lineno} {a.value!r}" for a in args if isinstance(a, ast.Constant)]
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                pairs = list(zip(reversed(a.args), reversed(a.defaults))) + list(zip(a.kwonlyargs, a.kw_defaults))
                typed += [
                    f"{where}:{node.lineno} {d.value!r}"
                    for arg, d in pairs
                    if "dataset" in arg.arg and isinstance(d, ast.Constant) and isinstance(d.value, str)
                ]
            elif (
                isinstance(node, ast.Tuple)
                and len(node.elts) == 2
                and all(isinstance(e, ast.Constant) for e in node.elts)
                and node.elts[0].value in ("datasets", "restricted")
                and node.elts[1].value in NAMES
            ):
                typed.append(f"{where}:{node.lineno} {node.elts[1].value!r}")
    assert not typed, typed


def test_services_import_dataset_names_and_schemas_from_the_catalogue_never_from_each_other():
    """The chain ingest <- transcribe <- redact <- score <- reports <- openlineage was only for names."""
    borrowed = []
    for path, tree in _modules("services", "defs"):
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and "services" in (node.module or "")
                or (isinstance(node, ast.ImportFrom) and path.parent.name == "services" and node.level == 1)
            ):
                for alias in node.names:
                    if alias.name.endswith(
                        ("_DATASET", "_SCHEMA", "_ZONE", "_KEY", "_PREFIX", "TENANT_TAG")
                    ) and alias.name not in ("MARTS_KEY",):
                        borrowed.append(f"{path.relative_to(REPO)}: {node.module}.{alias.name}")
    assert not borrowed, borrowed


def test_the_tenant_run_tag_is_defined_once():
    holders = [str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py") if '"ccr/tenant"' in p.read_text("utf-8")]
    assert holders == ["ccr_pipelines/core/catalog.py"]


def test_no_module_builds_a_tenant_object_key_by_hand():
    """Keys of the tenant zones come from the catalogue's builders (validated ids), not from f-strings."""
    zones = ("raw/", "audio/", "quarantine/", "restricted/", "reports/", "exports/", "lineage/openlineage/")
    by_hand = []
    for path, tree in _modules("core", "services", "defs", "asr"):
        if path.name == "keys.py":
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.JoinedStr)
                and node.values
                and isinstance(node.values[0], ast.Constant)
                and str(node.values[0].value).startswith(zones)
            ):
                by_hand.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not by_hand, by_hand


def test_each_dataset_has_a_zone_a_known_data_class_columns_and_a_unique_name():
    assert len(NAMES) == len(catalog.DATASETS)
    for d in catalog.DATASETS:
        assert d.zone in ("datasets", "restricted")
        assert d.data_class in DEFAULT_RETENTION_DAYS, d
        assert d.schema is not None or d.columns_from, d
        if d.schema is not None:
            assert {"tenant_id", "call_id"} <= set(d.columns), d  # tenant isolation (P4) and erasure (P17)
    # P21: clear transcript text only in the restricted zone
    assert {d.name for d in catalog.DATASETS if d.zone == "restricted"} == {"transcript_segments"}


def test_a_partition_key_is_the_datasets_zone_tenant_and_day_and_refuses_a_bad_name_zone_tenant_or_day():
    assert catalog.REDACTED_SEGMENTS.partition_key(T, DAY) == f"datasets/{T}/redacted_segments/day={DAY}/part.parquet"
    assert catalog.TRANSCRIPT_SEGMENTS.partition_key(T, DAY).startswith(f"restricted/{T}/transcript_segments/")
    assert catalog.kind_of_key(catalog.CALL_SCORES.partition_key(T, DAY)) == "dataset_partition"
    for name, tenant, day, zone in (
        ("../x", T, DAY, "datasets"),
        ("call_scores", "../t", DAY, "datasets"),
        ("call_scores", T, "2026-02-30", "datasets"),
        ("call_scores", T, DAY, "reports"),
        ("call_scores", T, "2026-11-17\n", "datasets"),
    ):
        with pytest.raises(InvalidKeyError):
            catalog.partition_key(name, tenant, day, zone)


def test_quality_suites_name_catalogued_datasets_and_their_columns():
    for name, suite in SUITES.items():
        d = catalog.dataset(name)
        for _expectation, kwargs in suite:
            for col in [kwargs.get("column"), *kwargs.get("column_set", [])]:
                assert col is None or col in d.columns, (name, col)


def test_the_dbt_sources_and_the_report_views_are_the_catalogued_ones():
    doc = yaml.safe_load((REPO / "dbt" / "models" / "sources.yml").read_text())
    tables = {t["name"]: tuple(t["meta"]["dagster"]["asset_key"]) for s in doc["sources"] for t in s["tables"]}
    assert tables == {d.name: d.writer for d in catalog.MART_SOURCES}
    from ccr_pipelines.services.reports import VIEWS

    assert {name for name, _ in VIEWS.values()} == {d.name for d in catalog.REPORT_INPUTS}


def test_the_writers_named_in_the_catalogue_are_assets_of_the_code_location():
    import dagster as dg

    from ccr_pipelines.definitions import defs

    # assets (their keys) and asset specs (a key: the conversation datasets the scoring runs report)
    keys = {k for a in defs().assets for k in (getattr(a, "keys", None) or [a.key])}
    named = {d.writer for d in catalog.DATASETS} | {
        catalog.CALL_MANIFEST_ASSET,
        catalog.TRANSCRIPTS_ASSET,
        catalog.REDACTED_SEGMENTS_ASSET,
        catalog.CALL_METRICS_ASSET,
        catalog.CALL_SCORES_ASSET,
        catalog.TENANT_REGISTRY_ASSET,
        *(catalog.report_asset(k) for k in ("weekly", "monthly")),
    }
    missing = sorted(catalog.asset_path(k) for k in named if dg.AssetKey(k) not in keys)
    assert not missing, missing
    assert any(k.path[:2] == list(catalog.MARTS_ASSET_PREFIX) for k in keys)
    # asset named after its dataset (issue 20): the redaction asset writes redacted_segments
    assert catalog.REDACTED_SEGMENTS.writer[-1] == catalog.REDACTED_SEGMENTS.name


# -- key builders ---------------------------------------------------------------------------------
GOOD = {
    "tenant_id": T,
    "day": DAY,
    "call_id": CALL,
    "extension": "flac",
    "sha256": SHA,
    "model_revision": "r1",
    "area": T,
    "token": "feedfeedfeedfeed",
    "name": "reason.json",
    "kind": "weekly",
    "period_key": "2026-W47",
    "request_id": 7,
    "lookup": "call",
    "run_id": "0b1d2c3a-aaaa-bbbb-cccc-123456789012",
    "dagster_run_id": "0b1d2c3a-aaaa-bbbb-cccc-123456789012",
}
BUILDERS = [
    catalog.inbox_day_prefix,
    catalog.inbox_key,
    catalog.call_inbox_prefix,
    catalog.audio_day_prefix,
    catalog.audio_key,
    catalog.audio_sidecar_key,
    catalog.call_audio_prefix,
    catalog.transcripts_day_prefix,
    catalog.call_transcripts_prefix,
    catalog.transcript_key,
    catalog.quarantine_prefix,
    catalog.quarantine_entry,
    catalog.quarantine_key,
    catalog.report_prefix,
    catalog.report_key,
    catalog.exports_prefix,
    catalog.dsr_export_prefix,
    catalog.lineage_exports_prefix,
    catalog.lineage_export_key,
    catalog.openlineage_key,
]
BAD = {
    "tenant_id": ["Acme", "../acme-energie", "acme-energie\n", "acme/energie", "", "a"],
    "area": ["Acme", "../unrouted", ""],
    "call_id": ["../c-1", "c 1", "c/1", "+33612345678", "", "c-1\n", "x" * 65],
    "day": ["2026-13-01", "2026/11/17", "20261117", "2026-11-17/..", "", "2026-02-30"],
    "token": ["0123", "../0123456789abc", "0123456789ABCDEF"],
    "period_key": ["2026-11", "../2026-W47", "2026-W4"],
    "request_id": [0, -1, "7", True],
    "run_id": ["../x", "a/b", ""],
    "dagster_run_id": ["../x", "a/b", ""],
    "extension": ["exe", "", "flac/x"],
    "sha256": ["", "xyz", "../0123456789abcdef"],
    "name": ["../x", "a/../../b"],
    "kind": ["daily"],
    "lookup": ["../x", "Call"],
}


def _args(fn):
    return {p: GOOD[p] for p in inspect.signature(fn).parameters}


@pytest.mark.parametrize("fn", BUILDERS, ids=lambda f: f.__name__)
def test_p4_every_key_builder_accepts_valid_ids_and_rejects_each_bad_tenant_call_id_or_day(fn):
    args = _args(fn)
    key = fn(**args)
    assert key.endswith(("/", ".")) or catalog.kind_of_key(key) is not None, key
    if "tenant_id" in args or "area" in args:
        assert tenant_of_key(key.rstrip("/")) == T
    tried = 0
    for param in args:
        for bad in BAD.get(param, []):
            with pytest.raises(InvalidKeyError) as err:
                fn(**{**args, param: bad})
            tried += 1
            if param == "call_id" and bad:
                assert bad.strip() not in str(err.value)  # an invalid call id may be personal data: never echoed
    assert tried


def test_the_quarantine_of_unroutable_uploads_and_the_platform_keys_are_described():
    entry = catalog.quarantine_entry("unrouted", DAY, "0123456789abcdef")
    assert entry == "quarantine/unrouted/2026/11/17/0123456789abcdef/"
    assert catalog.quarantine_entry_of(entry + "object.bin") == entry
    with pytest.raises(InvalidKeyError):
        catalog.quarantine_key("unrouted", DAY, "0123456789abcdef", "upload.wav")  # an entry holds three files
    assert catalog.openlineage_key("run-1", date(2026, 11, 17)) == "lineage/openlineage/2026-11-17/run-1.ndjson"
    from ccr_pipelines.services.lineage import LOOKUP_KINDS

    for lookup in LOOKUP_KINDS:  # every lookup kind has its answer's key
        assert catalog.kind_of_key(catalog.lineage_export_key(T, lookup, 3, "0b1d2c3a-aaaa")) == "lineage_export"
    for key in (
        "control/backups/20261117T020000Z/manifest.json",
        "control/tenant_registry/abc.json",
        "control/erasure-ledger/acme-energie/x.json",
        "marts/warehouse.duckdb",
        "raw/acme-energie/2026/11/17/anything at all.wav",
    ):
        assert catalog.kind_of_key(key) is not None, key
    assert catalog.kind_of_key("audio/acme-energie/c-1.flac") is None
    assert catalog.kind_of_key("datasets/acme-energie/unknown_table/day=2026-11-17/part.parquet") is None


# -- retention ------------------------------------------------------------------------------------
def test_p19_retention_classes_cover_every_catalogued_dataset_and_object_kind():
    assert sorted(ALL_DATASETS) == sorted((d.zone, d.name) for d in catalog.DATASETS)
    for d in catalog.DATASETS:
        assert (d.zone, d.name) in DATASET_CLASSES[d.data_class]
    for kind in catalog.OBJECT_KINDS:
        assert kind.data_class is None or kind.data_class in DEFAULT_RETENTION_DAYS, kind
        if kind.tenant_parts:
            assert kind.tenant_parts in OBJECT_CLASSES[kind.data_class], kind
        else:
            assert kind.removal, kind  # whatever is not purged by day says how it goes


def test_p19_the_purge_plans_an_expired_partition_of_every_catalogued_dataset_and_each_dated_object(tmp_path):
    """Real stores: one old and one recent partition of every catalogued dataset, and an old object of
    every kind purged by its day; the plan takes each old one, under its data class, and no recent one."""
    from ccr_pipelines.services.retention import PurgeEnv, plan_purge
    from ccr_pipelines.stores.control_store import ControlStore
    from ccr_pipelines.stores.object_store import LocalObjectStore
    from ccr_pipelines.stores.warehouse import Warehouse, partition_key

    store = LocalObjectStore(tmp_path / "objects")
    wh = Warehouse(store)
    old, recent = "2024-01-02", "2026-11-16"
    for d in catalog.DATASETS:
        for day in (old, recent):
            wh.write_partition(
                d.name, T, day, pa.table({"tenant_id": [T], "call_id": [CALL], "day": [day]}), zone=d.zone
            )
    dated = [
        catalog.audio_key(T, old, CALL, "flac"),
        catalog.audio_sidecar_key(T, old, CALL),
        catalog.playback_key(T, old, CALL),
        catalog.transcript_key(T, old, CALL, SHA, "r1"),
        *(catalog.quarantine_key(T, old, "0123456789abcdef", n) for n in catalog.QUARANTINE_FILES),
        catalog.report_key(T, "monthly", "2024-01", "report.html"),
    ]
    for key in dated:
        store.put_bytes(key, b"x")
    kinds = {catalog.kind_of_key(k) for k in dated}
    assert kinds == {k.name for k in catalog.OBJECT_KINDS if k.data_class}  # every dated kind is exercised
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    env = PurgeEnv(
        store=store,
        warehouse=wh,
        control=control,
        registry=TenantRegistry([Tenant(id=T, display_name="Acme", languages=["en"], scorecard="default.v1")]),
        today=date(2026, 11, 20),
    )
    planned = {(i.target, i.data_class) for i, _n in plan_purge(env)}
    for d in catalog.DATASETS:
        assert (partition_key(d.name, T, old, d.zone), d.data_class) in planned, d.name
        assert not any(t == partition_key(d.name, T, recent, d.zone) for t, _ in planned)
    for key in dated:
        kind = next(k for k in catalog.OBJECT_KINDS if k.name == catalog.kind_of_key(key))
        assert (key, kind.data_class) in planned, key


# -- what a run really writes ---------------------------------------------------------------------
@pytest.mark.slow
def test_every_object_the_demo_wrote_is_of_a_catalogued_kind_and_every_partition_a_catalogued_dataset(demo_run):
    data_dir, _ = demo_run
    from ccr_pipelines.stores.object_store import LocalObjectStore

    keys = [o.key for o in LocalObjectStore(data_dir / "objects").list("")]
    assert keys
    unknown = sorted(k for k in keys if catalog.kind_of_key(k) is None)
    assert not unknown, unknown[:20]
    written = {(k.split("/")[0], k.split("/")[2]) for k in keys if catalog.kind_of_key(k) == "dataset_partition"}
    assert written <= {(d.zone, d.name) for d in catalog.DATASETS}
    # the demo runs the whole pipeline: every catalogued dataset was written
    assert {name for _zone, name in written} == NAMES
