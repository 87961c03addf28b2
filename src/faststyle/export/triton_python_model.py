"""Triton Python-backend model: runs the model.onnx beside it with ONNX Runtime.

Copied as model.py into a repository by `faststyle export --triton DIR --triton-backend python`.
It needs only numpy and onnxruntime in the Python that Triton's stub runs, not faststyle.
Each request is one batch of images of one size (and, for a multi-style model, their style
weights); Triton's dynamic batcher hands several requests to `execute` at once.
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
        self.has_style = any(i.name == "style" for i in self.session.get_inputs())

    def execute(self, requests: list[Any]) -> list[Any]:
        responses = []
        for request in requests:
            feeds = {"image": read(request, "image")}
            if self.has_style:
                feeds["style"] = read(request, "style").astype(np.float32)
            (out,) = self.session.run(["stylized"], feeds)
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor.from_dlpack("stylized", out)]))
        return responses
