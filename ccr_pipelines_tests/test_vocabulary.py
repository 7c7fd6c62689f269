"""Custom vocabulary per tenant (issue 19): a validated tenant setting, passed to the decoder as hotwords.

The fixture ``data/vocabulary_veltrana.wav`` is espeak-ng (en-us, 150 wpm) saying "I would like to cancel
my Veltrana subscription today, please." (a made-up brand; 4.6 s, 16 kHz mono), made with
``espeak-ng -v en-us -s 150 -w x.wav "…"`` and resampled to 16 kHz."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccr_pipelines.core.errors import SettingsError
from ccr_pipelines.core.tenants import Tenant, hotwords_text, validate_vocabulary
from ccr_pipelines.loaders.config_files import load_tenant_registry

FIXTURE = Path(__file__).parent / "data" / "vocabulary_veltrana.wav"


def _tenant(**kw) -> Tenant:
    return Tenant(id="globex-support", display_name="Globex", languages=["en"], scorecard="default.v1", **kw)


def test_the_vocabulary_setting_is_validated_and_becomes_the_decoders_hotwords():
    assert _tenant().hotwords is None
    assert _tenant(vocabulary=["Veltrana", "Globex Fibre+", "AT&T"]).hotwords == "Veltrana, Globex Fibre+, AT&T"
    assert hotwords_text([]) is None and validate_vocabulary(["Zéphyr"]) == ["Zéphyr"]
    for bad in (
        ["  Veltrana"],
        ["Velt\nrana"],
        [""],
        ["x" * 41],
        ["Veltrana", "VELTRANA"],
        ["a"] * 0 + [f"w{i}" for i in range(101)],
        ["{{name}}"],
        ["-brand"],
    ):
        with pytest.raises(ValueError):
            _tenant(vocabulary=bad)


def test_a_tenant_file_with_a_bad_vocabulary_is_refused_with_one_line(tmp_path):
    path = tmp_path / "tenants.yaml"
    path.write_text(
        "version: 1\ntenants:\n  - id: globex-support\n    display_name: G\n    languages: [en]\n"
        "    scorecard: default.v1\n    vocabulary: [Veltrana, 'x\\ty']\n"
    )
    with pytest.raises(SettingsError) as err:
        load_tenant_registry(path)
    assert "vocabulary" in str(err.value) and "\n" not in str(err.value)
    path.write_text(path.read_text().replace("'x\\ty'", "Globex"))
    assert load_tenant_registry(path).get("globex-support").hotwords == "Veltrana, Globex"


@pytest.mark.slow
def test_the_brand_is_transcribed_right_with_the_tenants_vocabulary_and_wrong_without_it():
    """tiny.en on the espeak-ng fixture: without hotwords it hears "melt round"; with the tenant's
    vocabulary it writes "Veltrana" (the same audio, the same model, only the decoder's context differs)."""
    from ccr_pipelines.asr.engine import AsrConfig, Engines, transcribe_many
    from ccr_pipelines.loaders.audio_files import ASR_SAMPLE_RATE, decode_channels

    audio = decode_channels(str(FIXTURE), sample_rate=ASR_SAMPLE_RATE)[0]
    texts = {}
    for label, hotwords in (("without", None), ("with", _tenant(vocabulary=["Veltrana"]).hotwords)):
        _model, pipeline = Engines(AsrConfig(hotwords=hotwords, threads=2)).for_language("en")
        out = transcribe_many(pipeline, [("call", audio)], language="en", batch_size=1)
        texts[label] = " ".join(s["text"] for s in out["call"])
    print(f"\nwithout vocabulary: {texts['without']!r}\nwith vocabulary:    {texts['with']!r}")
    assert "Veltrana" not in texts["without"] and "cancel" in texts["without"]
    assert "Veltrana" in texts["with"] and "subscription" in texts["with"]
