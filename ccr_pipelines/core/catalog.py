"""The catalogue of what the platform stores (P4, P19, P21): every Parquet dataset and every object key.

One place names each dataset (its columns, zone, partitioning, retention data class and the asset
that writes it) and builds each object key from validated ids (tenant id, day, call id), so that
services, checks and the retention rules import names and keys from here, never from each other.
Pure: no I/O, no Dagster. Asset keys are plain tuples (the Dagster definitions turn them into
``AssetKey``s); the test ``test_catalog.py`` checks they exist in the code location.

Object-key layout (tenant-owned keys all start ``{zone}/{tenant}/``, core/keys.py):

==================  ===========================================================================
raw inbox           ``raw/{t}/yyyy/mm/dd/{call}.{ext}`` and ``{call}.json`` (as uploaded)
audio               ``audio/{t}/yyyy/mm/dd/{call}.{ext}`` and the sidecar ``{call}.json``
quarantine          ``quarantine/{t|unrouted}/yyyy/mm/dd/{token}/object.bin|sidecar.json|reason.json``
transcript          ``restricted/{t}/transcripts/yyyy/mm/dd/{call}/{sha256[:16]}-{revision}.json``
dataset partition   ``{datasets|restricted}/{t}/{dataset}/day=yyyy-mm-dd/part.parquet`` (``partition_key``)
report              ``reports/{t}/{weekly|monthly}/{period}/{file}``
DSR export          ``exports/{t}/dsr-{request id}/bundle.json``, ``files/{call}/…``
lineage answer      ``exports/{t}/lineage/{lookup}-{request id}-{run[:8]}.json``
OpenLineage file    ``lineage/openlineage/yyyy-mm-dd/{dagster run id}.ndjson``
platform            ``control/backups/…``, ``control/tenant_registry/…``, ``control/erasure-ledger/…``,
                    ``marts/warehouse.duckdb``
==================  ===========================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from .errors import InvalidKeyError
from .ingest import AUDIO_EXTENSIONS, CALL_ID_RE, SIDECAR_EXTENSION, UNROUTED
from .keys import TENANT_ID_RE, ZONES, tenant_key, validate_key, validate_tenant_id
from .redaction import TYPES as PII_TYPES
from .report_periods import PERIOD_KINDS

# -- Dagster names (plain strings and tuples: the defs build AssetKeys from them) -----------------
TENANT_TAG = "ccr/tenant"  # run tag naming the tenant of a per-tenant run (sensors, schedules, alerting)

CALL_MANIFEST_ASSET = ("silver", "ingest", "call_manifest")
TRANSCRIPTS_ASSET = ("silver", "transcribe", "transcripts")
# The asset is named after the dataset it writes (it was "redacted_transcripts" until issue 20: runs
# and lineage rows recorded before that keep the old key; the stored dataset did not change).
REDACTED_SEGMENTS_ASSET = ("silver", "analyze", "redacted_segments")
PLAYBACK_AUDIO_ASSET = ("silver", "analyze", "playback_audio")
CALL_METRICS_ASSET = ("silver", "analyze", "call_metrics")
CALL_SCORES_ASSET = ("silver", "analyze", "call_scores")
# issue 19: materialized by the scoring step's runs (one asset each, for the marts that read them)
CALL_SENTIMENT_ASSET = ("silver", "analyze", "call_sentiment")  # turn_sentiment and call_sentiment
CALL_CATEGORIES_ASSET = ("silver", "analyze", "call_categories")
CALL_CARDS_ASSET = ("silver", "analyze", "call_cards")
TENANT_REGISTRY_ASSET = ("control", "platform", "tenant_registry")
MARTS_ASSET_PREFIX = ("marts", "warehouse")  # + the dbt model's name


def report_asset(kind: str) -> tuple[str, ...]:
    """The asset of a tenant's weekly or monthly reports."""
    return ("gold", "reports", f"tenant_{_period_kind(kind)}_reports")


def asset_path(key: tuple[str, ...]) -> str:
    """An asset key as Dagster's ``to_user_string`` writes it (lineage rows, OpenLineage job names)."""
    return "/".join(key)


# -- datasets ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dataset:
    """A Parquet dataset: one object per tenant and day (``PARTITIONING``) in *zone*."""

    name: str
    zone: str  # "datasets" (analytics) or "restricted" (transcript text, P21)
    data_class: str  # retention class (core/tenants.py DEFAULT_RETENTION_DAYS): the purge drops old days
    writer: tuple[str, ...]  # asset key path of the asset that writes it
    schema: pa.Schema | None  # the columns; None: defined by the query named in *columns_from*
    description: str
    columns_from: str = ""
    partitioning: str = "tenant, day"

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.schema.names) if self.schema is not None else ()

    def partition_key(self, tenant_id: str, day: str) -> str:
        return partition_key(self.name, tenant_id, day, self.zone)


PARTITIONING = "{zone}/{tenant}/{dataset}/day={yyyy-mm-dd}/part.parquet"
# Zones a dataset may live in: analytics ("datasets") or, for tables holding transcript text, the
# restricted zone with its own retention and IAM (P21).
DATASET_ZONES = ("datasets", "restricted")
PART_NAME = "part.parquet"
_DATASET_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}\Z")

MANIFEST_SCHEMA = pa.schema(
    [
        ("tenant_id", pa.string()),
        ("call_id", pa.string()),
        ("day", pa.string()),
        ("source_key", pa.string()),
        ("audio_key", pa.string()),
        ("etag", pa.string()),
        ("sha256", pa.string()),
        ("size_bytes", pa.int64()),
        ("duration_s", pa.float64()),
        ("sample_rate", pa.int32()),
        ("channels", pa.int8()),
        ("codec", pa.string()),
        ("container", pa.string()),
        ("agent_id", pa.string()),
        ("team", pa.string()),
        ("direction", pa.string()),
        ("campaign", pa.string()),
        ("script_id", pa.string()),
        ("started_at", pa.string()),
        ("language", pa.string()),
        ("customer_ref_hash", pa.string()),
        ("subject_hashes", pa.list_(pa.string())),
        ("has_sidecar", pa.bool_()),
        ("recording_notice", pa.bool_()),
        ("ingested_at", pa.timestamp("us", tz="UTC")),
        ("run_id", pa.string()),
    ]
)
TRANSCRIPT_CALLS_SCHEMA = pa.schema(
    [
        ("tenant_id", pa.string()),
        ("call_id", pa.string()),
        ("day", pa.string()),
        ("status", pa.string()),
        ("failure_reason", pa.string()),
        ("sha256", pa.string()),
        ("transcript_key", pa.string()),
        ("model_name", pa.string()),
        ("model_revision", pa.string()),
        ("compute_type", pa.string()),
        ("device", pa.string()),
        ("engine_versions", pa.string()),
        ("language_configured", pa.string()),
        ("language_detected", pa.string()),
        ("speaker_mode", pa.string()),
        ("role_confidence", pa.float64()),  # mono calls diarized: how sure the agent/customer roles are
        ("audio_seconds", pa.float64()),
        ("processing_seconds", pa.float64()),
        ("segments", pa.int32()),
        ("words", pa.int32()),
        ("mean_confidence", pa.float64()),
        ("no_speech_share", pa.float64()),
        ("compression_ratio", pa.float64()),
        ("hallucination_suspected", pa.bool_()),
        ("language_mismatch", pa.bool_()),
        ("words_in_silence_suspected", pa.bool_()),
        ("run_id", pa.string()),
        ("transcribed_at", pa.timestamp("us", tz="UTC")),
    ]
)
TRANSCRIPT_SEGMENTS_SCHEMA = pa.schema(
    [
        ("tenant_id", pa.string()),
        ("call_id", pa.string()),
        ("segment_index", pa.int32()),
        ("speaker", pa.string()),
        ("channel", pa.int8()),
        ("start_s", pa.float64()),
        ("end_s", pa.float64()),
        ("text", pa.string()),
        ("avg_logprob", pa.float64()),
        ("no_speech_prob", pa.float64()),
        ("compression_ratio", pa.float64()),
        ("speech_regions", pa.list_(pa.list_(pa.float64()))),
        ("no_speech", pa.bool_()),  # the no-speech gate (core/transcripts.is_no_speech); null in older transcripts
    ]
)
REDACTED_SEGMENTS_SCHEMA = pa.schema(
    [
        ("tenant_id", pa.string()),
        ("call_id", pa.string()),
        ("segment_index", pa.int32()),
        ("speaker", pa.string()),
        ("channel", pa.int8()),
        ("start_s", pa.float64()),
        ("end_s", pa.float64()),
        ("text", pa.string()),
        ("avg_logprob", pa.float64()),
        ("speech_regions", pa.list_(pa.list_(pa.float64()))),
        *[(f"pii_{t}", pa.int16()) for t in PII_TYPES],
        ("redactor_version", pa.string()),
        ("no_speech", pa.bool_()),  # the ASR no-speech gate: such segments never count for or against a step
    ]
)
CALL_SCORES_SCHEMA = pa.schema(
    [
        ("tenant_id", pa.string()),
        ("call_id", pa.string()),
        ("day", pa.string()),
        ("score", pa.float64()),
        ("auto_failed", pa.bool_()),
        ("needs_review", pa.bool_()),
        ("review_reasons", pa.list_(pa.string())),
        ("review_status", pa.string()),
        ("confidence", pa.float64()),
        ("asr_confidence", pa.float64()),
        ("scorer_version", pa.string()),
        ("scorecard_version", pa.string()),
        ("model_revision", pa.string()),
        ("results_json", pa.string()),
    ]
)
CALL_SCORE_STEPS_SCHEMA = pa.schema(
    [
        ("tenant_id", pa.string()),
        ("call_id", pa.string()),
        ("day", pa.string()),
        ("question", pa.string()),
        ("step", pa.string()),
        ("section", pa.string()),
        ("status", pa.string()),
        ("points", pa.float64()),
        ("possible", pa.float64()),
        ("evidence_segment", pa.int32()),
        ("evidence_start_s", pa.float64()),
        ("similarity", pa.float64()),
        ("scorecard_version", pa.string()),
    ]
)

# Issue 19: loudness and non-talk (numbers only, no text: datasets zone), from the ASR worker's "acoustics".
CALL_ACOUSTICS_SCHEMA = pa.schema(
    [
        ("tenant_id", pa.string()),
        ("call_id", pa.string()),
        ("day", pa.string()),
        ("acoustics_version", pa.string()),
        ("duration_s", pa.float64()),
        ("non_talk_s", pa.float64()),
        ("longest_silence_s", pa.float64()),
        ("agent_baseline_dbfs", pa.float64()),
        ("customer_baseline_dbfs", pa.float64()),
        ("agent_raised_voice", pa.int32()),
        ("customer_raised_voice", pa.int32()),
    ]
)
TURN_LOUDNESS_SCHEMA = pa.schema(
    [
        ("tenant_id", pa.string()),
        ("call_id", pa.string()),
        ("segment_index", pa.int32()),
        ("speaker", pa.string()),
        ("start_s", pa.float64()),
        ("end_s", pa.float64()),
        ("speech_s", pa.float64()),
        ("dbfs", pa.float64()),
        ("above_baseline_db", pa.float64()),
        ("raised_voice", pa.bool_()),
    ]
)

# Issue 19: conversation analytics of the redacted segments, written by the scoring step.
TURN_SENTIMENT_SCHEMA = pa.schema(
    [
        ("tenant_id", pa.string()),
        ("call_id", pa.string()),
        ("day", pa.string()),
        ("segment_index", pa.int32()),
        ("speaker", pa.string()),
        ("start_s", pa.float64()),
        ("language", pa.string()),
        ("compound", pa.float32()),
        ("label", pa.string()),
        ("sentiment_version", pa.string()),
    ]
)
CALL_SENTIMENT_SCHEMA = pa.schema(
    [
        ("tenant_id", pa.string()),
        ("call_id", pa.string()),
        ("day", pa.string()),
        ("turns", pa.int32()),
        ("overall", pa.float64()),
        ("agent", pa.float64()),
        ("customer", pa.float64()),
        ("first_third", pa.float64()),
        ("last_third", pa.float64()),
        ("customer_first_third", pa.float64()),
        ("customer_last_third", pa.float64()),
        ("customer_change", pa.float64()),
        ("negative_end", pa.bool_()),
        ("sentiment_version", pa.string()),
    ]
)
CALL_CATEGORIES_SCHEMA = pa.schema(
    [
        ("tenant_id", pa.string()),
        ("call_id", pa.string()),
        ("day", pa.string()),
        ("category", pa.string()),
        ("is_driver", pa.bool_()),
        ("first_s", pa.float64()),
        ("time_points", pa.list_(pa.float64())),
        ("categories_version", pa.string()),
    ]
)
COMMITMENT = pa.struct([("start_s", pa.float64()), ("text", pa.string())])
CALL_CARDS_SCHEMA = pa.schema(
    [
        ("tenant_id", pa.string()),
        ("call_id", pa.string()),
        ("day", pa.string()),
        ("driver", pa.string()),
        ("driver_s", pa.float64()),
        ("drivers", pa.list_(pa.string())),
        ("solution_status", pa.string()),
        ("solution_s", pa.float64()),
        ("closing_sentiment", pa.float64()),
        ("closing_label", pa.string()),
        ("outcome", pa.string()),
        ("commitments", pa.list_(COMMITMENT)),
        ("commitments_n", pa.int32()),
        ("card_version", pa.string()),
        # a call with no rule driver: the driver its opening words are most like (a suggestion, never
        # its driver; only where the tenant's categories give drivers examples) and that similarity
        ("suggested_driver", pa.string()),
        ("suggested_similarity", pa.float64()),
    ]
)

CALL_MANIFEST = Dataset(
    "call_manifest",
    "datasets",
    "scores",
    CALL_MANIFEST_ASSET,
    MANIFEST_SCHEMA,
    "one row per accepted recording: probe, sidecar metadata, keyed subject hashes (P18)",
)
TRANSCRIPT_CALLS = Dataset(
    "transcript_calls",
    "datasets",
    "scores",
    TRANSCRIPTS_ASSET,
    TRANSCRIPT_CALLS_SCHEMA,
    "one row per transcribed call: model, engine, quality signals, status; no text",
)
TRANSCRIPT_SEGMENTS = Dataset(
    "transcript_segments",
    "restricted",
    "raw_transcript",
    TRANSCRIPTS_ASSET,
    TRANSCRIPT_SEGMENTS_SCHEMA,
    "one row per segment with its clear text (P21): only redaction reads it",
)
REDACTED_SEGMENTS = Dataset(
    "redacted_segments",
    "datasets",
    "redacted_transcript",
    REDACTED_SEGMENTS_ASSET,
    REDACTED_SEGMENTS_SCHEMA,
    "the segments with personal data replaced by typed placeholders: the only transcript text analytics read (P21)",
)
CALL_METRICS = Dataset(
    "call_metrics",
    "datasets",
    "scores",
    CALL_METRICS_ASSET,
    None,
    "talk time, overlap, interruptions, speech rate, turns per call",
    columns_from="services/metrics.py METRICS_SQL",
)
CALL_SCORES = Dataset(
    "call_scores",
    "datasets",
    "scores",
    CALL_SCORES_ASSET,
    CALL_SCORES_SCHEMA,
    "one automated score per call on the tenant's scorecard (P15, P23)",
)
CALL_SCORE_STEPS = Dataset(
    "call_score_steps",
    "datasets",
    "scores",
    CALL_SCORES_ASSET,
    CALL_SCORE_STEPS_SCHEMA,
    "one row per call and scorecard step, with its evidence",
)
TURN_SENTIMENT = Dataset(
    "turn_sentiment",
    "datasets",
    "scores",
    CALL_SENTIMENT_ASSET,
    TURN_SENTIMENT_SCHEMA,
    "sentiment per turn (compound score and label; no text)",
)
CALL_SENTIMENT = Dataset(
    "call_sentiment",
    "datasets",
    "scores",
    CALL_SENTIMENT_ASSET,
    CALL_SENTIMENT_SCHEMA,
    "sentiment per call: overall, per speaker, first vs last third, the customer's change",
)
CALL_CATEGORIES = Dataset(
    "call_categories",
    "datasets",
    "scores",
    CALL_CATEGORIES_ASSET,
    CALL_CATEGORIES_SCHEMA,
    "category and call-driver hits per call, with their time points",
)
CALL_CARDS = Dataset(
    "call_cards",
    "datasets",
    "scores",
    CALL_CARDS_ASSET,
    CALL_CARDS_SCHEMA,
    "per call: driver, outcome and the agent's commitments quoted from redacted turns",
)
CONVERSATION_DATASETS = ("turn_sentiment", "call_sentiment", "call_categories", "call_cards")
CALL_ACOUSTICS = Dataset(
    "call_acoustics",
    "datasets",
    "scores",
    TRANSCRIPTS_ASSET,
    CALL_ACOUSTICS_SCHEMA,
    "per call: non-talk time, longest silence, each speaker's loudness baseline and raised-voice count (numbers only)",
)
TURN_LOUDNESS = Dataset(
    "turn_loudness",
    "datasets",
    "scores",
    TRANSCRIPTS_ASSET,
    TURN_LOUDNESS_SCHEMA,
    "per turn: loudness (dBFS) and its distance to the speaker's baseline (numbers only)",
)

# In pipeline order. Every Parquet dataset the code writes is here (test_catalog.py checks it).
DATASETS: tuple[Dataset, ...] = (
    CALL_MANIFEST,
    TRANSCRIPT_CALLS,
    TRANSCRIPT_SEGMENTS,
    CALL_ACOUSTICS,
    TURN_LOUDNESS,
    REDACTED_SEGMENTS,
    CALL_METRICS,
    CALL_SCORES,
    CALL_SCORE_STEPS,
    TURN_SENTIMENT,
    CALL_SENTIMENT,
    CALL_CATEGORIES,
    CALL_CARDS,
)
DATASETS_BY_NAME: dict[str, Dataset] = {d.name: d for d in DATASETS}
# What reads them beyond the next asset: dbt's sources (dbt/models/sources.yml) and the tenant reports'
# views (services/reports.py VIEWS); test_catalog.py checks both agree with this.
MART_SOURCES: tuple[Dataset, ...] = (
    CALL_MANIFEST,
    CALL_METRICS,
    CALL_SCORES,
    CALL_SENTIMENT,
    CALL_CATEGORIES,
    CALL_CARDS,
)
REPORT_INPUTS: tuple[Dataset, ...] = (
    CALL_SCORES,
    CALL_SCORE_STEPS,
    CALL_METRICS,
    TRANSCRIPT_CALLS,
    CALL_SENTIMENT,
    CALL_CATEGORIES,
    CALL_CARDS,
)


def dataset(name: str) -> Dataset:
    try:
        return DATASETS_BY_NAME[name]
    except KeyError:
        raise InvalidKeyError(f"{name!r} is not a catalogued dataset") from None


def datasets_of_class(data_class: str) -> tuple[Dataset, ...]:
    return tuple(d for d in DATASETS if d.data_class == data_class)


def _dataset_name(name: str, zone: str) -> str:
    if not isinstance(name, str) or not _DATASET_NAME_RE.match(name):
        raise InvalidKeyError(f"invalid dataset name {ascii(str(name)[:64])}")
    if zone not in DATASET_ZONES:
        raise InvalidKeyError(f"datasets live in {DATASET_ZONES}, not {ascii(str(zone)[:20])}")
    return name


def dataset_prefix(name: str, tenant_id: str, zone: str = "datasets") -> str:
    """A dataset's folder for one tenant: ``{zone}/{tenant}/{dataset}/`` (the Warehouse lists it)."""
    return tenant_key(zone, tenant_id, _dataset_name(name, zone)) + "/"


def partition_key(name: str, tenant_id: str, day: str, zone: str = "datasets") -> str:
    """One tenant-day partition of a dataset: ``{zone}/{tenant}/{dataset}/day=YYYY-MM-DD/part.parquet``.
    Any well-formed name (the Warehouse is generic); the pipeline's datasets are ``DATASETS``."""
    _dataset_name(name, zone)
    y, m, d = _day_parts(day if isinstance(day, str) else "")
    return tenant_key(zone, tenant_id, name, f"day={y}-{m}-{d}", PART_NAME)


# -- validated parts ------------------------------------------------------------------------------
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
_TOKEN_RE = re.compile(r"^[0-9a-f]{16}\Z")
_SHA256_RE = re.compile(r"^[0-9a-f]{16,64}\Z")
_PERIOD_RE = {"weekly": re.compile(r"^\d{4}-W\d{2}\Z"), "monthly": re.compile(r"^\d{4}-\d{2}\Z")}
_LOOKUP_RE = re.compile(r"^[a-z][a-z_]{0,19}\Z")
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")


def _day_parts(day: str | date) -> tuple[str, str, str]:
    text = day.isoformat() if isinstance(day, date) else day
    if not isinstance(text, str) or not _DAY_RE.match(text):
        raise InvalidKeyError("day is not an ISO date (YYYY-MM-DD)")
    try:
        date.fromisoformat(text)
    except ValueError:
        raise InvalidKeyError("day is not a calendar date") from None
    y, m, d = text.split("-")
    return y, m, d


def _call_id(call_id: str) -> str:
    # never echoed: an invalid call id may be personal data (a phone number as a file name)
    if not isinstance(call_id, str) or not CALL_ID_RE.match(call_id):
        raise InvalidKeyError("call id is not valid (1-64 chars: letters, digits, '_', '-')")
    return call_id


def _extension(extension: str) -> str:
    if extension not in AUDIO_EXTENSIONS:
        raise InvalidKeyError(f"audio extension must be one of {', '.join(AUDIO_EXTENSIONS)}")
    return extension


def _period_kind(kind: str) -> str:
    if kind not in PERIOD_KINDS:
        raise InvalidKeyError(f"report kind must be one of {', '.join(PERIOD_KINDS)}")
    return kind


def _request_id(request_id: int) -> int:
    if isinstance(request_id, bool) or not isinstance(request_id, int) or request_id < 1:
        raise InvalidKeyError("request id must be a positive integer")
    return request_id


# -- raw inbox (uploads as received) --------------------------------------------------------------
def inbox_day_prefix(tenant_id: str, day: str | date) -> str:
    return tenant_key("raw", tenant_id, *_day_parts(day)) + "/"


def inbox_key(tenant_id: str, day: str | date, call_id: str, extension: str) -> str:
    return tenant_key("raw", tenant_id, *_day_parts(day), f"{_call_id(call_id)}.{_extension(extension)}")


def call_inbox_prefix(tenant_id: str, day: str | date, call_id: str) -> str:
    """Everything uploaded for one call (its audio and sidecar): ``raw/{t}/y/m/d/{call}.``."""
    return tenant_key("raw", tenant_id, *_day_parts(day), _call_id(call_id)) + "."


# -- accepted audio and its sidecar (data class audio) --------------------------------------------
def audio_day_prefix(tenant_id: str, day: str | date) -> str:
    return tenant_key("audio", tenant_id, *_day_parts(day)) + "/"


def playback_day_prefix(tenant_id: str, day: str | date) -> str:
    return tenant_key("playback", tenant_id, *_day_parts(day)) + "/"


def call_playback_prefix(tenant_id: str, day: str | date, call_id: str) -> str:
    """A call's playback copy: ``playback/{t}/y/m/d/{call}.``."""
    return tenant_key("playback", tenant_id, *_day_parts(day), _call_id(call_id)) + "."


def playback_key(tenant_id: str, day: str | date, call_id: str) -> str:
    """The playback copy of a call: personal data silenced (P21, services/playback.py)."""
    y, m, d = _day_parts(day)
    return tenant_key("playback", tenant_id, y, m, d, f"{_call_id(call_id)}.wav")


def audio_key(tenant_id: str, day: str | date, call_id: str, extension: str) -> str:
    return tenant_key("audio", tenant_id, *_day_parts(day), f"{_call_id(call_id)}.{_extension(extension)}")


def audio_sidecar_key(tenant_id: str, day: str | date, call_id: str) -> str:
    return tenant_key("audio", tenant_id, *_day_parts(day), f"{_call_id(call_id)}.{SIDECAR_EXTENSION}")


def call_audio_prefix(tenant_id: str, day: str | date, call_id: str) -> str:
    """A call's accepted audio and sidecar: ``audio/{t}/y/m/d/{call}.``."""
    return tenant_key("audio", tenant_id, *_day_parts(day), _call_id(call_id)) + "."


# -- raw transcripts (restricted zone, data class raw_transcript) ---------------------------------
def transcripts_day_prefix(tenant_id: str, day: str | date) -> str:
    return tenant_key("restricted", tenant_id, "transcripts", *_day_parts(day)) + "/"


def call_transcripts_prefix(tenant_id: str, day: str | date, call_id: str) -> str:
    return tenant_key("restricted", tenant_id, "transcripts", *_day_parts(day), _call_id(call_id)) + "/"


def transcript_key(tenant_id: str, day: str | date, call_id: str, sha256: str, model_revision: str) -> str:
    """The worker's transcript of a call: one per audio content and model revision (a retry skips it)."""
    if not isinstance(sha256, str) or not _SHA256_RE.match(sha256):
        raise InvalidKeyError("audio sha256 is not a lowercase hex digest")
    return tenant_key(
        "restricted",
        tenant_id,
        "transcripts",
        *_day_parts(day),
        _call_id(call_id),
        f"{sha256[:16]}-{model_revision}.json",
    )


# -- quarantine (rejected uploads, data class audio) ----------------------------------------------
QUARANTINE_OBJECT = "object.bin"  # the upload, as received
QUARANTINE_SIDECAR = "sidecar.json"  # its same-stem sidecar, when one came with it
QUARANTINE_REASON = "reason.json"  # why it was rejected (no unsafe key in clear, P4/P17)
QUARANTINE_FILES = (QUARANTINE_OBJECT, QUARANTINE_SIDECAR, QUARANTINE_REASON)


def quarantine_prefix(area: str) -> str:
    """A tenant's quarantine, or the ``unrouted`` one of uploads that name no valid tenant."""
    return tenant_key("quarantine", _area(area)) + "/"


def quarantine_entry(area: str, day: str | date, token: str) -> str:
    """One rejected upload's folder: ``quarantine/{area}/y/m/d/{token}/`` (a token, never the key)."""
    if not isinstance(token, str) or not _TOKEN_RE.match(token):
        raise InvalidKeyError("quarantine token is not 16 hex digits")
    return tenant_key("quarantine", _area(area), *_day_parts(day), token) + "/"


def quarantine_key(area: str, day: str | date, token: str, name: str) -> str:
    if name not in QUARANTINE_FILES:
        raise InvalidKeyError(f"a quarantine entry holds {', '.join(QUARANTINE_FILES)}")
    return quarantine_entry(area, day, token) + name


def quarantine_entry_of(key: str) -> str:
    """The entry folder (with its trailing '/') of a key inside a quarantine entry."""
    parts = validate_key(key).split("/")
    if len(parts) < 7 or parts[0] != "quarantine":
        raise InvalidKeyError("not a key inside a quarantine entry")
    return "/".join(parts[:6]) + "/"


def _area(area: str) -> str:
    return area if area == UNROUTED else validate_tenant_id(area)


# -- reports (data class reports: by the period's last day) ---------------------------------------
def report_prefix(tenant_id: str, kind: str, period_key: str) -> str:
    """A delivered report's folder, ``reports/{t}/{kind}/{period}/`` (weekly ``2026-W47``, monthly ``2026-11``)."""
    _period_kind(kind)
    if not isinstance(period_key, str) or not _PERIOD_RE[kind].match(period_key):
        raise InvalidKeyError(f"{kind} period is not {'YYYY-Www' if kind == 'weekly' else 'YYYY-MM'}")
    return tenant_key("reports", tenant_id, kind, period_key) + "/"


def report_key(tenant_id: str, kind: str, period_key: str, name: str) -> str:
    return validate_key(report_prefix(tenant_id, kind, period_key) + name)


# -- exports: DSR bundles and lineage-lookup answers (erased with the subject; offboarding) -------
def exports_prefix(tenant_id: str) -> str:
    return tenant_key("exports", tenant_id) + "/"


def tenant_zone_prefixes(tenant_id: str) -> tuple[str, ...]:
    """Every zone's folder of one tenant, ``{zone}/{tenant}/``, and the OpenLineage folder (shared by
    tenants): where a subject's data can be, for the sweeps that must reach all of it (P3, P17)."""
    return tuple(tenant_key(zone, tenant_id) + "/" for zone in ZONES) + (OPENLINEAGE_PREFIX,)


def dsr_export_prefix(tenant_id: str, request_id: int) -> str:
    return tenant_key("exports", tenant_id, f"dsr-{_request_id(request_id)}") + "/"


def lineage_exports_prefix(tenant_id: str) -> str:
    return tenant_key("exports", tenant_id, "lineage") + "/"


def lineage_export_key(tenant_id: str, lookup: str, request_id: int, run_id: str) -> str:
    """A lineage-lookup answer; the key names the request, never its target (no call id in run metadata)."""
    if not isinstance(lookup, str) or not _LOOKUP_RE.match(lookup):
        raise InvalidKeyError("lineage lookup kind is not a lowercase name")
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id):
        raise InvalidKeyError("run id is not valid")
    return tenant_key("exports", tenant_id, "lineage", f"{lookup}-{_request_id(request_id)}-{run_id[:8]}.json")


# -- platform objects (no tenant segment) ---------------------------------------------------------
OPENLINEAGE_PREFIX = "lineage/openlineage/"
BACKUPS_PREFIX = "control/backups"  # core/backup.py lays out each backup under it
REGISTRY_SNAPSHOT_PREFIX = "control/tenant_registry"  # one JSON per registry digest
ERASURE_LEDGER_PREFIX = "control/erasure-ledger"  # services/erasure_ledger.py
MARTS_KEY = "marts/warehouse.duckdb"  # where the marts built over an S3 store are published


def openlineage_key(dagster_run_id: str, day: str | date) -> str:
    """A run's OpenLineage events, newline-delimited JSON (services/openlineage.py)."""
    y, m, d = _day_parts(day)
    if not isinstance(dagster_run_id, str) or not _RUN_ID_RE.match(dagster_run_id):
        raise InvalidKeyError("run id is not valid")
    return validate_key(f"{OPENLINEAGE_PREFIX}{y}-{m}-{d}/{dagster_run_id}.ndjson")


# -- object kinds: what each key family is, who writes it, how it goes ----------------------------
@dataclass(frozen=True)
class ObjectKind:
    name: str
    pattern: re.Pattern  # matches every key of the kind
    writer: str  # asset key path, job or service that writes it
    data_class: str | None  # the retention class whose purge removes it; None: see *removal*
    tenant_parts: tuple[str, ...] = ()  # purge by the day in the key: the folders under which it lives
    removal: str = "by the day in the key"


_T = TENANT_ID_RE.pattern.strip("^").removesuffix(r"\Z")
_C = CALL_ID_RE.pattern.strip("^").removesuffix(r"\Z")
_YMD = r"\d{4}/\d{2}/\d{2}"
_AUDIO = "|".join(AUDIO_EXTENSIONS)

OBJECT_KINDS: tuple[ObjectKind, ...] = (
    ObjectKind(
        "raw_inbox",
        re.compile(r"^raw/.+"),
        "uploaders (SFTP/S3 drop)",
        None,
        removal="moved out by ingestion (accepted -> audio, rejected -> quarantine); offboarding",
    ),
    ObjectKind(
        "audio",
        re.compile(rf"^audio/{_T}/{_YMD}/{_C}\.(?:{_AUDIO})$"),
        asset_path(CALL_MANIFEST_ASSET),
        "audio",
        ("audio",),
    ),
    ObjectKind(
        "audio_sidecar",
        re.compile(rf"^audio/{_T}/{_YMD}/{_C}\.json$"),
        asset_path(CALL_MANIFEST_ASSET),
        "audio",
        ("audio",),
    ),
    ObjectKind(
        "playback",
        re.compile(rf"^playback/{_T}/{_YMD}/{_C}\.wav$"),
        asset_path(PLAYBACK_AUDIO_ASSET),
        "audio",
        ("playback",),
    ),
    ObjectKind(
        "quarantine",
        re.compile(
            rf"^quarantine/{_T}/{_YMD}/[0-9a-f]{{16}}/"
            rf"(?:object\.bin|sidecar\.json|reason\.json)$"
        ),
        asset_path(CALL_MANIFEST_ASSET),
        "audio",
        ("quarantine",),
    ),
    ObjectKind(
        "transcript",
        re.compile(rf"^restricted/{_T}/transcripts/{_YMD}/{_C}/[0-9a-f]{{16}}-[^/]+\.json$"),
        asset_path(TRANSCRIPTS_ASSET) + " (ASR worker)",
        "raw_transcript",
        ("restricted", "transcripts"),
    ),
    ObjectKind(
        "dataset_partition",
        re.compile(
            rf"^(?:datasets|restricted)/{_T}/(?:{'|'.join(d.name for d in DATASETS)})"
            rf"/day=\d{{4}}-\d{{2}}-\d{{2}}/part\.parquet$"
        ),
        "the dataset's writer asset (DATASETS)",
        None,
        removal="by dataset: Dataset.data_class",
    ),
    ObjectKind(
        "report",
        re.compile(rf"^reports/{_T}/(?:weekly/\d{{4}}-W\d{{2}}|monthly/\d{{4}}-\d{{2}})/[^/]+$"),
        "gold/reports/tenant_{kind}_reports",
        "reports",
        removal="by the period's last day",
    ),
    ObjectKind(
        "dsr_export",
        re.compile(rf"^exports/{_T}/dsr-\d+/.+"),
        "dsr_export_job / ccr dsr export",
        None,
        removal="erased with the subject; offboarding",
    ),
    ObjectKind(
        "lineage_export",
        re.compile(rf"^exports/{_T}/lineage/[a-z][a-z_]*-\d+-[^/]+\.json$"),
        "lineage_lookup_job",
        None,
        removal="erased with the subject; offboarding",
    ),
    ObjectKind(
        "openlineage",
        re.compile(r"^lineage/openlineage/\d{4}-\d{2}-\d{2}/[^/]+\.ndjson$"),
        "openlineage sensors",
        None,
        removal="rewritten by an erasure (the calls' datasets removed)",
    ),
    ObjectKind(
        "backup",
        re.compile(rf"^{BACKUPS_PREFIX}/.+"),
        "backup_job / ccr backup",
        None,
        removal="pruned after backup keep_days",
    ),
    ObjectKind(
        "registry_snapshot",
        re.compile(rf"^{REGISTRY_SNAPSHOT_PREFIX}/.+\.json$"),
        asset_path(TENANT_REGISTRY_ASSET),
        None,
        removal="kept (the registry's history, no personal data)",
    ),
    ObjectKind(
        "erasure_ledger",
        re.compile(rf"^{ERASURE_LEDGER_PREFIX}/.+"),
        "services/erasure_ledger.py",
        None,
        removal="kept: every backup restore re-applies it",
    ),
    ObjectKind(
        "mart_source_placeholder",
        re.compile(r"^datasets/_empty/[a-z_]+/day=1970-01-01/part\.parquet$"),
        "services/marts.ensure_mart_sources",
        None,
        removal="empty (no row); deleted once a tenant's partition of the dataset exists",
    ),
    ObjectKind(
        "marts",
        re.compile(rf"^{re.escape(MARTS_KEY)}$"),
        "marts/warehouse (dbt)",
        None,
        removal="rebuilt from the datasets after every purge and erasure",
    ),
)


def kind_of_key(key: str) -> str | None:
    """The object kind a key belongs to, or None when the catalogue does not describe it."""
    for kind in OBJECT_KINDS:
        if kind.pattern.match(key):
            return kind.name
    return None
