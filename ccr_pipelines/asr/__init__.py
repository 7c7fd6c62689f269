"""The transcription worker: the external side of Dagster Pipes.

Only ``worker.py`` and ``engine.py`` import the ASR stack (faster-whisper, CTranslate2,
ONNX Runtime; torch and whisperx only with ``asr.vad: pyannote``), and only inside the
worker process (launched by ``PipesSubprocessClient`` locally and by ``PipesK8sClient``
on GPU nodes in production). The code location imports
``ccr_pipelines.asr.models`` at most, which is torch-free (tested).
"""
