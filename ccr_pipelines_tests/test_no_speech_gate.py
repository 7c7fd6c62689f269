"""The no-speech gate (issue 17): words the decoder scores as non-speech are flagged ``no_speech`` and
count neither for nor against a script step; noise-only audio gives 0 scored words (real faster-whisper)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ccr_pipelines.core.scorecards import score_call
from ccr_pipelines.core.transcripts import is_no_speech, merge_channel_segments, quality_signals
from ccr_pipelines.loaders.config_files import load_scorecard

CARDS = Path(__file__).resolve().parents[1] / "ccr_pipelines" / "config" / "scorecards"


def test_the_gate_is_whispers_rule_plus_repetition():
    assert is_no_speech(0.85, -1.4, 1.0) and not is_no_speech(0.85, -0.3, 1.0) and not is_no_speech(0.1, -1.4, 1.0)
    assert not is_no_speech(None, None, 1.0) and is_no_speech(None, None, 2.5)
    segs = merge_channel_segments(
        [
            (
                "agent",
                0,
                [
                    {
                        "start": 0.0,
                        "end": 2.0,
                        "text": " Hello, this call is recorded.",
                        "avg_logprob": -0.2,
                        "no_speech_prob": 0.01,
                    },
                    {"start": 3.0, "end": 4.0, "text": " Woohoo!", "avg_logprob": -1.5, "no_speech_prob": 0.9},
                ],
            )
        ]
    )
    assert [s.no_speech for s in segs] == [False, True] and segs[1].as_row("t", "c")["no_speech"] is True
    sig = quality_signals(segs, audio_seconds=5.0, expected_language="en", detected_language="en")
    assert (sig["words"], sig["no_speech_words"], sig["hallucination_suspected"]) == (5, 1, True)


def _noise(seed: int, rate: float, buzz: bool) -> np.ndarray:
    """Band-passed noise or a harmonic buzz, switched on and off at a syllable rate: what a VAD takes
    for speech though no word is said."""
    from scipy.signal import butter, lfilter

    sr, rng = 16000, np.random.default_rng(seed)
    t = np.arange(sr * 10) / sr
    b, a = butter(4, [300 / 8000, 3000 / 8000], btype="band")
    if buzz:
        phase = 2 * np.pi * np.cumsum(120 + 20 * np.sin(2 * np.pi * 0.5 * t)) / sr
        src = sum(np.sin(h * phase) / h for h in range(1, 20))
    else:
        src = rng.standard_normal(len(t))
    return (lfilter(b, a, src) * np.clip(np.sin(2 * np.pi * rate * t), 0, None) ** 2 * 0.3).astype(np.float32)


@pytest.mark.parametrize("vad", ["silero", "pyannote"])
def test_noise_only_audio_gives_zero_scored_words(vad):
    """Silero's VAD (the default, issue 21) finds no speech in these clips at all; pyannote's takes
    them for speech and the decoder "hears" words there: then the gate is what keeps them out."""
    from ccr_pipelines.asr.engine import AsrConfig, Engines, transcribe_many

    _model, pipeline = Engines(AsrConfig(multilingual_model="", vad=vad)).for_language("en")
    items = [((k, buzz), _noise(k, rate, buzz)) for k, rate in enumerate((3.0, 5.0)) for buzz in (False, True)]
    raw = transcribe_many(pipeline, items, language="en", batch_size=8)
    card = load_scorecard(CARDS / "globex-support.v1.yaml")
    decoded = gated = 0
    for item_id, _audio in items:
        segs = merge_channel_segments([("agent", 0, raw[item_id])])
        decoded += sum(len(s.text.split()) for s in segs)  # tiny.en does "hear" words in this noise
        gated += sum(s.no_speech for s in segs)
        sig = quality_signals(segs, audio_seconds=10.0, expected_language="en", detected_language="en")
        assert sig["words"] == 0, item_id
        rows = [s.as_row("t", "c") for s in segs]
        res = score_call(card, rows, uses_virtual_agents=False, asr_confidence=None)
        assert all(r.get("evidence") is None for r in res["results"])  # nothing counted for or against
    print(f"{vad}: noise clips: {decoded} words decoded, {gated} segments gated, 0 scored")
    if vad == "pyannote":
        assert decoded > 0 and gated > 0  # the gate had something to do
