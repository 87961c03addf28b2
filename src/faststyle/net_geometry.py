"""The transform network's geometry, without torch, so the torch-free runtime shares it.

Its convolutions halve the image twice and double it back, and its reflection pads need a few
pixels at 1/4 size: any H and W are padded (bottom and right, edge-replicated) up to a multiple of
STRIDE and at least MIN_SIZE, and the output is cropped back. `TransformNet.forward` (and so the
ONNX graph), the runtime around a bare-network graph, and the stroke-scale limit use these.
"""

STRIDE = 4
MIN_SIZE = 16  # at 1/4 size that is 4 px, enough for the 3x3 reflection pads


def padded(size: int) -> int:
    """The side the network runs at for an image side of `size` px."""
    return max(MIN_SIZE, (size + STRIDE - 1) // STRIDE * STRIDE)  # also traced into the ONNX graph
