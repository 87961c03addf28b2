"""The public, torch-free way to run an exported model in Python:

    from faststyle.runtime import Stylizer

It needs only onnxruntime, numpy and pillow; the implementation is in
`faststyle.inference.onnx_runtime`.
"""

from faststyle.inference.onnx_runtime import OrtStylizer as Stylizer

__all__ = ["Stylizer"]
