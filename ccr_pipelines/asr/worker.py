"""Transcription worker (Dagster Pipes external process).

Launched with a batch of calls in the Pipes extras; loads each model once,
transcribes every call, writes each transcript JSON to the restricted zone,
and reports back only numbers: per-call results as custom messages, the
batch's materialization metadata and a check result. Transcript text never
goes through Pipes, logs or Dagster metadata.

A corrupt call fails that call, not the batch. Each transcript is written
atomically, so a worker killed mid-batch leaves only whole transcripts, which
the retry skips (same audio sha256 + same model revision).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback

from ..core import catalog, diarization
from ..core.errors import InvalidKeyError
from ..core.loudness import call_acoustics
from ..core.transcripts import merge_channel_segments, quality_signals
from ..loaders.audio_files import ASR_SAMPLE_RATE, decode_channels
from ..platform import build_object_store
from ..stores.object_store import ObjectStore
from .engine import AsrConfig, Engines
from .models import ModelUnavailable
from .segmenter import WINDOW_S as SEGMENTER_WINDOW_S
from .segmenter import segmentation_files
from .voice_encoder import encoder_files


def store_from_config(cfg: dict) -> ObjectStore:
    """The store the code location's resource describes (``ObjectStoreResource.spec``), built by the platform."""
    return build_object_store(**cfg)


def transcript_key(tenant_id: str, call: dict, model_revision: str) -> str:
    """Where a call's transcript goes (core/catalog.py: tenant id, day and call id validated)."""
    return catalog.transcript_key(tenant_id, call["day"], call["call_id"], call["sha256"], model_revision)


class CallFailed(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# Calls decoded and transcribed together: their VAD chunks share batches. Bounded by
# audio length so a group of long calls never holds more than ~30 min of samples.
GROUP_MAX_CALLS = 16
GROUP_MAX_AUDIO_S = 1800.0


_WRITTEN = 0


def _fault_injection_point() -> None:
    """Tests set CCR_ASR_TEST_CRASH_AFTER=N to kill the worker (like kill -9) after N transcripts."""
    global _WRITTEN
    _WRITTEN += 1
    limit = int(os.environ.get("CCR_ASR_TEST_CRASH_AFTER", "0"))
    if limit and _WRITTEN >= limit:
        os._exit(137)


class _Prepared:
    def __init__(self, call, language, model, pipeline, key, channels):
        self.call, self.language, self.model, self.pipeline = call, language, model, pipeline
        self.key, self.channels = key, channels
        self.t0 = time.perf_counter()
        self.own_seconds = 0.0

    @property
    def audio_seconds(self) -> float:
        return len(self.channels[0]) / ASR_SAMPLE_RATE if self.channels else 0.0


def prepare_call(engines: Engines, store: ObjectStore, tenant_id: str, call: dict, default_language: str):
    """Resolve the model, skip done work, download and decode. Returns a result dict (skip) or _Prepared."""
    language = call.get("language") or default_language
    try:
        model, pipeline = engines.for_language(language)
    except ModelUnavailable as exc:
        raise CallFailed(f"model_unavailable: {exc}") from None
    try:
        key = transcript_key(tenant_id, call, model.revision)
        own_audio = call["audio_key"].startswith(catalog.call_audio_prefix(tenant_id, call["day"], call["call_id"]))
    except InvalidKeyError:  # a tenant id, day or call id that could escape its prefix (P4): nothing written
        raise CallFailed("invalid_key") from None
    if not own_audio:  # audio outside the tenant's own prefix is never read, whatever the batch holds (P4)
        raise CallFailed("invalid_key")
    if store.exists(key):
        return {
            "call_id": call["call_id"],
            "status": "skipped",
            "transcript_key": key,
            "model": model.name,
            "model_revision": model.revision,
        }
    with tempfile.TemporaryDirectory(prefix="ccr-asr-") as tmp:
        local = os.path.join(tmp, "audio")
        store.download_file(call["audio_key"], local)
        try:
            channels = decode_channels(local, sample_rate=ASR_SAMPLE_RATE)
        except Exception:  # noqa: BLE001 - any decoder failure sets this call aside, not the batch
            raise CallFailed("undecodable_audio") from None
    prepared = _Prepared(call, language, model, pipeline, key, channels)
    prepared.own_seconds = time.perf_counter() - prepared.t0  # download + decode: this call's alone
    if prepared.audio_seconds == 0:
        raise CallFailed("empty_audio")
    return prepared


def _labelled(p: _Prepared, roles: list[str]):
    """[(speaker, channel, audio)]: a stereo call's channels with the tenant's roles; a mono call's
    one channel, ``unknown`` until diarization (``_speakers``) says who spoke each turn."""
    if len(p.channels) == 2:
        return [(roles[i], i, p.channels[i]) for i in range(2)]
    return [("unknown", None, p.channels[0])]


def _speakers(p: _Prepared, labelled: list, raw: dict, engines: Engines) -> tuple[list, str, dict | None]:
    """(per-channel segments by speaker, speaker_mode, diarization numbers). speaker_mode says what
    really ran: ``per_channel`` (stereo), ``diarized`` (mono, roles found), ``diarization_inconclusive``
    (mono: one voice heard, the voices not told apart, or too little evidence for roles: every turn
    stays ``unknown``), ``diarization_off`` (mono, ``asr.mono_diarization: off``). The transcript's
    ``diarization.method`` says what told the voices apart (``pitch``, ``segmentation``, or ``embedding``:
    the segmentation model heard two voices, the speaker embedding split them)."""
    per_channel = [(speaker, ch, raw[(p.call["call_id"], speaker, ch)]) for speaker, ch, _a in labelled]
    if len(p.channels) == 2:
        return per_channel, "per_channel", None
    if engines.config.mono_diarization == "off":
        return per_channel, "diarization_off", None
    auto = engines.config.mono_diarization == "auto"
    found = diarization.diarize(
        p.channels[0],
        per_channel[0][2],
        language=p.language,
        direction=p.call.get("direction"),
        segmenter=_OnFirstCall(engines.speaker_segmenter, window_s=SEGMENTER_WINDOW_S)
        if auto and segmentation_files()
        else None,
        encoder=_OnFirstCall(engines.voice_encoder) if auto and encoder_files() else None,
    )
    mode = "diarized" if found.roles_known else "diarization_inconclusive"
    return [(role, None, segs) for role, segs in found.by_role], mode, found.info()


class _OnFirstCall:
    """A model of the engines (*load*: the segmenter or the voice encoder), loaded at its first call only:
    most mono calls are split by pitch and never need it. *attrs*: what diarize reads off the model."""

    def __init__(self, load, **attrs):
        self.load = load
        self.__dict__.update(attrs)

    def __call__(self, *args):
        return self.load()(*args)


def _call_of(item_id: tuple) -> str:
    """Channels of one call share packed windows; two calls never do (engine.transcribe_many)."""
    return item_id[0]


def transcribe_group(
    engines: Engines, store: ObjectStore, tenant_id: str, roles: list[str], group: list[_Prepared]
) -> list[dict]:
    """Transcribe a group of prepared calls in shared batches and write each transcript."""
    from .engine import transcribe_many

    raw: dict = {}
    t_shared = time.perf_counter()
    by_pipeline: dict = {}
    for p in group:
        by_pipeline.setdefault((id(p.pipeline), p.language), []).append(p)
    for (_pid, language), members in by_pipeline.items():
        items = []
        for p in members:
            items += [((p.call["call_id"], speaker, ch), audio) for speaker, ch, audio in _labelled(p, roles)]
        raw.update(
            transcribe_many(
                members[0].pipeline,
                items,
                language=language,
                batch_size=engines.config.batch_size,
                pack_group=_call_of,
            )
        )
    shared = time.perf_counter() - t_shared
    group_audio = sum(p.audio_seconds for p in group) or 1.0
    results = []
    for p in group:
        t_own = time.perf_counter()
        per_channel, mode, diarized = _speakers(p, _labelled(p, roles), raw, engines)
        try:
            detected = engines.detect_language(p.channels[0][: 30 * ASR_SAMPLE_RATE])
        except ModelUnavailable:
            detected = None
        segments = merge_channel_segments(per_channel)
        signals = quality_signals(
            segments, audio_seconds=p.audio_seconds, expected_language=p.language, detected_language=detected
        )
        # the group shares its batched compute: each call is charged its share by audio length, plus
        # its own download, decode, language detection and shaping (not the other calls' time)
        processing = p.own_seconds + shared * p.audio_seconds / group_audio + time.perf_counter() - t_own
        doc = {
            "tenant_id": tenant_id,
            "call_id": p.call["call_id"],
            "sha256": p.call["sha256"],
            "model": {"name": p.model.name, "revision": p.model.revision, "spec": p.model.spec},
            "compute_type": engines.config.compute_type,
            "device": engines.config.device,
            "engine_versions": engines.versions(),
            "alignment": bool(engines.config.alignment_model_dir),
            "language": {"configured": p.language, "detected": detected},
            "audio_seconds": round(p.audio_seconds, 3),
            "processing_seconds": round(processing, 3),
            "speaker_mode": mode,
            # mono: speakers found, role confidence, evidence counts and pitch ratio (numbers only)
            "diarization": diarized,
            "signals": signals,
            "segments": [s.as_row(tenant_id, p.call["call_id"]) for s in segments],
            # issue 19: loudness per turn, raised voice, non-talk (numbers only), from the decoded audio
            "acoustics": call_acoustics(p.channels, segments, ASR_SAMPLE_RATE),
        }
        store.put_bytes(p.key, json.dumps(doc, ensure_ascii=False).encode("utf-8"))
        _fault_injection_point()
        results.append(
            {
                "call_id": p.call["call_id"],
                "status": "transcribed",
                "transcript_key": p.key,
                "model": p.model.name,
                "model_revision": p.model.revision,
                "audio_seconds": doc["audio_seconds"],
                "processing_seconds": doc["processing_seconds"],
                "signals": signals,
                "speaker_mode": mode,
                "role_confidence": (diarized or {}).get("role_confidence"),
                "language_detected": detected,
            }
        )
    return results


def batch_jobs(extras: dict) -> list[dict]:
    """The launch's work, one job per tenant: ``extras["tenants"]`` (a launch over several tenants'
    pending calls: each tenant with its own calls, channel roles, language and custom vocabulary),
    or the one tenant of the older form (``tenant_id``, ``calls``… at the top level)."""
    if "tenants" in extras:
        return list(extras["tenants"])
    asr = extras.get("asr") or {}
    return [
        {
            "tenant_id": extras["tenant_id"],
            "channel_roles": extras.get("channel_roles"),
            "default_language": extras.get("default_language"),
            "hotwords": asr.get("hotwords"),
            "calls": extras["calls"],
        }
    ]


def run_batch(extras: dict, report=lambda msg: None) -> dict:
    """Transcribe every call in *extras*; returns the batch summary (numbers only).

    Several tenants' calls may come in one launch (their models loaded once): each tenant's calls
    are transcribed in groups of that tenant only — two tenants never share a decoding batch or a
    window — with that tenant's vocabulary, and written under that tenant's prefix. Each result
    names its tenant, so the asset writes each tenant's tables apart (P4)."""
    store = store_from_config(extras["store"])
    engines = Engines(AsrConfig.from_dict(extras.get("asr", {})))
    summary = {
        "calls": 0,
        "transcribed": 0,
        "skipped": 0,
        "failed": 0,
        "audio_seconds": 0.0,
        "processing_seconds": 0.0,
        "failures": {},
        "tenants": 0,
    }
    t_start = time.perf_counter()
    views = [engines]  # the engines and each tenant view made from them: their model loads add up
    for job in batch_jobs(extras):
        tenant_engines = engines
        if job.get("hotwords") != engines.config.hotwords:
            tenant_engines = engines.with_context(job.get("hotwords"))
            views.append(tenant_engines)
        summary["tenants"] += 1
        _run_tenant(tenant_engines, store, job, summary, report)
    summary["processing_seconds"] = time.perf_counter() - t_start
    summary["load_seconds"] = round(sum(v.load_seconds for v in views), 3)
    summary["models_loaded"] = len(engines._models)
    return summary


def _run_tenant(engines: Engines, store: ObjectStore, job: dict, summary: dict, report) -> None:
    tenant_id = job["tenant_id"]
    roles = list(job.get("channel_roles") or ["agent", "customer"])
    default_language = job.get("default_language") or "en"

    def record(res: dict) -> None:
        res = {**res, "tenant_id": tenant_id}
        summary[res["status"]] += 1
        summary["audio_seconds"] += res.get("audio_seconds", 0.0)
        if res["status"] == "failed":
            summary["failures"][res["reason"]] = summary["failures"].get(res["reason"], 0) + 1
        report(res)

    group: list[_Prepared] = []

    def flush() -> None:
        if group:
            for res in transcribe_group(engines, store, tenant_id, roles, group):
                record(res)
            group.clear()

    for call in job["calls"]:
        summary["calls"] += 1
        try:
            prepared = prepare_call(engines, store, tenant_id, call, default_language)
        except CallFailed as exc:
            record({"call_id": call["call_id"], "status": "failed", "reason": exc.reason.split(":", 1)[0]})
            continue
        if isinstance(prepared, dict):
            record(prepared)
            continue
        group.append(prepared)
        if len(group) >= GROUP_MAX_CALLS or sum(p.audio_seconds for p in group) >= GROUP_MAX_AUDIO_S:
            flush()
    flush()


def _quiet_libraries() -> None:
    """faster-whisper (and, with the pyannote VAD, whisperx, pyannote and Lightning) are chatty: their
    INFO goes to the worker's log file (``CCR_ASR_LOG_FILE``), warnings and errors to stderr."""
    import os
    import warnings

    from .engine import route_library_logs

    warnings.filterwarnings("ignore")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    route_library_logs()  # again at each model load (engine._load), after the libraries' imports


def main() -> int:
    from dagster_pipes import open_dagster_pipes

    _quiet_libraries()

    with open_dagster_pipes() as pipes:
        extras = pipes.extras
        summary = run_batch(extras, report=pipes.report_custom_message)
        audio = summary["audio_seconds"]
        pipes.report_asset_materialization(
            metadata={
                "worker_calls": summary["calls"],
                "worker_transcribed": summary["transcribed"],
                "worker_skipped": summary["skipped"],
                "worker_failed": summary["failed"],
                "audio_seconds": round(audio, 1),
                "processing_seconds": round(summary["processing_seconds"], 1),
                "model_load_seconds": summary["load_seconds"],
                "real_time_factor": round(audio / summary["processing_seconds"], 2)
                if summary["processing_seconds"]
                else 0.0,
                "failure_reasons": {"raw_value": summary["failures"], "type": "json"},
            },
        )
        pipes.report_asset_check(
            check_name="worker_calls_succeeded",
            passed=summary["failed"] == 0,
            severity="WARN",  # a failed call is quarantined; the batch goes on
            metadata={"failed": summary["failed"], "calls": summary["calls"]},
        )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # noqa: BLE001
        # The traceback names code, not data; Pipes already reported the error to Dagster.
        traceback.print_exc(limit=5)
        sys.exit(1)
