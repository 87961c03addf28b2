"""What this machine can run, for torch: the device to use and the training precision.
(The CPU's own features, which the torch-free runtime needs too, are in faststyle.cpu.)"""

from __future__ import annotations

import time

import torch

from faststyle.cpu import BF16_CPU_FLAGS, cpu_flags
from faststyle.errors import UserError


def pick_device(name: str = "auto") -> torch.device:
    """'auto' (the GPU if there is one) or a torch device string -> a device; UserError if unusable."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
        torch.empty(0, device=device)  # fails now if the device is absent or not built in
    except (RuntimeError, AssertionError) as e:
        raise UserError(
            f"--device {name}: not usable here ({str(e).splitlines()[0] if str(e) else type(e).__name__})"
        ) from None
    return device


def choose_precision(requested: str, accelerator: str = "auto") -> tuple[str, str]:
    """--precision auto -> (Lightning precision, why): bf16-mixed where the hardware runs bf16
    natively, 32-true elsewhere. Any other request is returned as it is."""
    on_gpu = accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
    if requested in ("16", "16-mixed") and not on_gpu:  # Lightning would quietly train bf16 instead
        raise UserError(
            f"--precision {requested}: float16 mixed precision needs a CUDA GPU; on this machine use auto, "
            "bf16-mixed or 32-true"
        )
    if requested != "auto":
        return requested, "as requested"
    if on_gpu:
        if torch.cuda.is_bf16_supported():
            return "bf16-mixed", f"{torch.cuda.get_device_name()} has bf16 tensor cores"
        return "32-true", f"{torch.cuda.get_device_name()} has no bf16"
    if accelerator == "mps" or (accelerator == "auto" and torch.backends.mps.is_available()):
        return "32-true", "Apple GPU: float32"
    found = [f for f in BF16_CPU_FLAGS if f in cpu_flags()]
    if found:
        return "bf16-mixed", f"this CPU has {' and '.join(found)}"
    return "32-true", "this CPU has no native bf16 (no amx_bf16 or avx512_bf16)"


def transform_net_format(device: torch.device) -> torch.memory_format:
    """The memory format the transform net trains in on `device` (the frozen VGG is channels-last
    everywhere: its Gram matrices are taken in that layout, faststyle.loss.gram).

    On a CPU the net trains NCHW. Its instance norms return NCHW whatever they are given (they
    view x as [1, N*C, H, W]), so a channels-last net converts every activation back at each
    reflection pad and again in each pad's backward; in NCHW those copies go and oneDNN's
    convolutions reorder internally as before. Measured with train.py's own steps (2-core Zen 5
    EPYC, bf16): the johnson-width fine-tune 45.1 -> 50.9 steps/min, configs/cpu.yaml's slim net
    69.2 -> 72.1; a step of either net in fp32 2-4% faster. On a GPU channels-last is what its
    bf16 tensor-core convolutions want."""
    return torch.contiguous_format if device.type == "cpu" else torch.channels_last


# Lightning precision -> the dtype its matrix products run in, for the peak they are measured against
PRECISION_DTYPES = {
    "bf16-mixed": torch.bfloat16,
    "bf16-true": torch.bfloat16,
    "16-mixed": torch.float16,
    "16-true": torch.float16,
    "32-true": torch.float32,
    "64-true": torch.float64,
}


def matmul_peak_tflops(device: torch.device, dtype: torch.dtype, runs: int = 5) -> float:
    """This device's practical matrix-product peak in `dtype` (TFLOP/s): the best of a few large
    square products. The measured peak, not a data sheet's: it is what a step could reach here.

    On a CPU each product is also done as a 1x1 convolution, which runs on oneDNN: its kernels use
    AVX-512 on AMD CPUs, where MKL's fp32 mm takes an AVX2 path (183 against 402 GFLOP/s on a
    2-core Zen 5 EPYC) and would put the convolutions of a training step above 100%."""
    n = 2048 if device.type == "cpu" else 8192
    # its own generator: measured at the start of a run, it must leave the run's random stream as it was
    g = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, device=device, dtype=dtype, generator=g)
    b = torch.randn(n, n, device=device, dtype=dtype, generator=g)
    products = [lambda: a @ b]
    if device.type == "cpu":
        # out[0, o, s] = sum_i w[o, i] x[0, i, s] over n positions s: the same [n, n] x [n, n] product
        x = a.reshape(1, n, 64, n // 64).contiguous(memory_format=torch.channels_last)
        w = b.reshape(n, n, 1, 1).contiguous(memory_format=torch.channels_last)
        products.append(lambda: torch.nn.functional.conv2d(x, w))
    best = float("inf")
    with torch.no_grad():
        for product in products:
            product()
            for _ in range(runs):
                _sync(device)
                start = time.perf_counter()
                product()
                _sync(device)
                best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e12


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
