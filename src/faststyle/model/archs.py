"""The transform net's widths and adapter forms, in a module without torch (train.py --help lists them instantly)."""

# Channel widths of the three stages. "slim" halves Johnson's widths (his instance-norm
# release reported no quality loss at half width); "tiny" halves them again for phones.
ARCHS: dict[str, tuple[int, int, int]] = {
    "johnson": (32, 64, 128),
    "slim": (16, 32, 64),
    "tiny": (8, 16, 32),
}

# The adapter "rank" that stands for a whole per-style kernel correction instead of up @ down
# (faststyle.model.adapters; `--adapter-rank full`).
FULL = -1
