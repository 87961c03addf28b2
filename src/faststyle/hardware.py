"""What this machine can run: the torch device to use.

Torch is imported by the callers that need a device; nothing here runs at import time.
"""

from __future__ import annotations

import torch

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
