"""What this CPU can do, read from /proc/cpuinfo: needs nothing beyond the standard library, so
the torch-free runtime can use it to choose its fastest correct path."""

from __future__ import annotations

import os
import platform

# CPU instructions that run bf16 matrix products natively: AMX tiles (Sapphire Rapids and
# later) and AVX512-BF16 (Cooper Lake, Zen 4). Without them torch emulates bf16 and it is slower.
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_flags() -> set[str]:
    """The CPU's feature flags as /proc/cpuinfo names them (empty where there is no /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_model() -> str:
    """The CPU's model name, for the reports that say which machine a figure was measured on."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# int8 dot products in hardware: AMX tiles, AVX512-VNNI (Cascade Lake on), AVX-VNNI (Alder Lake on)
INT8_CPU_FLAGS = ("amx_int8", "avx512_vnni", "avx_vnni")


def cpu_has_bf16() -> bool:
    return any(f in cpu_flags() for f in BF16_CPU_FLAGS)


def cpu_has_int8() -> bool:
    return any(f in cpu_flags() for f in INT8_CPU_FLAGS)


def cpu_summary() -> str:
    """'Intel(R) Xeon(R) Processor, 2 cores, avx2 avx512f amx_bf16 ...': for reports."""
    shown = [f for f in ("avx2", "avx512f", *BF16_CPU_FLAGS, *INT8_CPU_FLAGS, "avx512_fp16") if f in cpu_flags()]
    return f"{cpu_model()}, {os.cpu_count()} cores, {' '.join(shown) or 'no AVX2'}"
