"""The exported graphs run by OpenVINO instead of onnxruntime: measured by the benches, not used by seedqa.

Why: issue 12 asks for sentence-transformers' OpenVINO backend to be measured beside onnxruntime
and kept only if it is faster with the same vectors. OpenVINO reads the very ONNX files seedqa
exports and checks (embeddings/onnx_runtime.py), so measuring it needs no second export: only a
session with onnxruntime's `run(output_names, feeds)`, which OnnxReader and graph_vectors call.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

# OpenVINO's CPU plugin picks bf16 by itself on CPUs with native bf16 (AVX512-BF16, AMX), which
# changes vectors; each precision is asked for by name so the figures say which one ran.
PRECISIONS = ("f32", "bf16")


class OpenVinoSession:
    """One compiled graph and one infer request per thread, answering `run` as onnxruntime's session does."""

    def __init__(self, path: Path, precision: str = "f32", threads: int | None = None) -> None:
        import openvino as ov  # the bench extra

        core = ov.Core()
        config = {
            "INFERENCE_PRECISION_HINT": precision,
            "INFERENCE_NUM_THREADS": threads or len(os.sched_getaffinity(0)),
            "PERFORMANCE_HINT": "LATENCY",  # one stream: a question is read alone, as seedqa reads it
        }
        self._compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
        self._local = threading.local()

    def run(self, output_names: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.create_infer_request()
        results = request.infer(feeds)
        return [np.asarray(results[self._compiled.output(name)]) for name in output_names]

    def get_outputs(self) -> list[Any]:
        class Output:  # what OnnxEncoder reads of onnxruntime's NodeArg
            def __init__(self, port: Any) -> None:
                self.name, self.shape = port.get_any_name(), [d.get_length() if d.is_static else None for d in port.get_partial_shape()]

        return [Output(port) for port in self._compiled.outputs]


def openvino_version() -> str:
    try:
        import openvino as ov

        return ov.__version__.split("-")[0]  # "2026.4.1-22982-e213a14...": the release
    except ImportError:
        return "not installed"
