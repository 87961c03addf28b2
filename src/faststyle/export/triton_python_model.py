"""Triton Python-backend model: runs the model.onnx beside it with ONNX Runtime.

Copied as model.py into a repository by `faststyle export --triton DIR --triton-backend python`.
It needs only numpy and onnxruntime in the Python that Triton's stub runs, not faststyle.
Each request is one batch of images of one size (and, for a multi-style model, their style
weights), or for a style predictor one batch of paintings; Triton's dynamic batcher hands several
requests to `execute` at once. Inputs and outputs are the graph's own, by name.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

# Triton's embedded Python ignores PYTHONPATH; honour it, so numpy and onnxruntime can come from
# an environment of the operator's choosing.
sys.path += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in sys.path]

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils  # provided by Triton's Python backend


# Tensors cross to and from numpy by DLPack, not as_numpy() / Tensor(name, array): with numpy 2
# those gave constant inputs and empty outputs (Triton 2.51's stub from nvidia-pytriton 0.7.0,
# built for numpy<2); DLPack does not depend on numpy's binary layout.
def read(request: Any, name: str) -> np.ndarray:
    return np.from_dlpack(pb_utils.get_input_tensor_by_name(request, name))


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        path = Path(args["model_repository"]) / args["model_version"] / "model.onnx"
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        kinds = {"tensor(uint8)": np.uint8, "tensor(float)": np.float32}
        self.inputs = {i.name: kinds[i.type] for i in self.session.get_inputs()}
        self.output = self.session.get_outputs()[0].name

    def execute(self, requests: list[Any]) -> list[Any]:
        responses = []
        for request in requests:
            feeds = {name: read(request, name).astype(kind) for name, kind in self.inputs.items()}
            (out,) = self.session.run([self.output], feeds)
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor.from_dlpack(self.output, out)]))
        return responses
