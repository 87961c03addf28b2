"""What this CPU can do, read from /proc/cpuinfo: needs nothing beyond the standard library, so
the torch-free runtime can use it to choose its fastest correct path."""

from __future__ import annotations

import os
import platform

# CPU instructions that run bf16 matrix products natively: AMX tiles (Sapphire Rapids and
# later) and AVX512-BF16 (Cooper Lake, Zen 4). Without them torch emulates bf16 and it is slower.
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
CPUINFO = "/proc/cpuinfo"


def cpu_flags() -> set[str]:
    """The CPU's feature flags as /proc/cpuinfo names them (empty where there is no /proc/cpuinfo)."""
    return set(_cpuinfo_field("flags").split())


def _cpuinfo_field(name: str) -> str:
    """The first value of `name` in /proc/cpuinfo ('' where there is none)."""
    try:
        with open(CPUINFO) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == name:
                    return value.strip()
    except OSError:
        pass
    return ""


def cpu_model() -> str:
    """The CPU's model name, for the reports that say which machine a figure was measured on."""
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def cpu_generation() -> str:
    """'family 26 model 2': a virtual machine's model name is often just 'AMD EPYC', which hides
    whether it is a Zen 4 (family 25) or a Zen 5 (family 26) at ~1.4x the speed."""
    family, model = _cpuinfo_field("cpu family"), _cpuinfo_field("model")
    return f"family {family} model {model}" if family and model else ""


# int8 dot products in hardware: AMX tiles, AVX512-VNNI (Cascade Lake on), AVX-VNNI (Alder Lake on)
INT8_CPU_FLAGS = ("amx_int8", "avx512_vnni", "avx_vnni")


def cpu_has_bf16() -> bool:
    return any(f in cpu_flags() for f in BF16_CPU_FLAGS)


def cpu_summary() -> str:
    """'AMD EPYC (family 26 model 2), 2 cores, avx2 avx512f avx512_bf16 ...': for reports."""
    flags, generation = cpu_flags(), cpu_generation()  # each reads /proc/cpuinfo: once, not per flag
    shown = [f for f in ("avx2", "avx512f", *BF16_CPU_FLAGS, *INT8_CPU_FLAGS, "avx512_fp16") if f in flags]
    where = f"{cpu_model()} ({generation})" if generation else cpu_model()
    return f"{where}, {os.cpu_count()} cores, {' '.join(shown) or 'no AVX2'}"
