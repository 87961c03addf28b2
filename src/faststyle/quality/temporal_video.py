"""How much a stylizer flickers on a real video, where the motion is not known but estimated.

For each pair of consecutive frames, OpenCV's DIS optical flow (on the photo frames, both ways)
says where each pixel of frame t+1 was in frame t. The warping error is the mean absolute
difference, in uint8 levels, between output t+1 and output t moved along that flow, over the
pixels the flow can be trusted at: inside frame t, and passing the forward-backward check of
Ruder et al. 2016 (|backward + forward|^2 <= 0.01 (|backward|^2 + |forward|^2) + 0.5 px^2, with
|forward| taken equal to |backward|, as it is wherever the check can pass; an occluded or badly
matched pixel fails it). The photo frames scored the same way are the floor: what the flow's
own errors and the video's lighting changes leave. A hard cut to another scene makes every
pixel fail the check, so it adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise
from os import PathLike
from typing import Any

import numpy as np
from numpy.typing import NDArray

from faststyle.errors import UserError
from faststyle.inference.temporal_blend import TemporalBlend, flow_back, require_opencv
from faststyle.inference.video import read_frames
from faststyle.quality.gatys import resize_longer_side

Frame = NDArray[np.uint8]  # [H, W, 3]
Transform = Callable[[Frame], Frame]  # one frame -> its stylization, the same size


def trusted_flows(frames: Sequence[Frame]) -> list[tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.bool_]]]:
    """Per consecutive pair: source x, y in frame t of each pixel of frame t+1, and where to trust it."""
    cv2 = require_opencv()
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    greys = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in frames]
    flows = []
    for before, now in pairwise(greys):
        x, y, mismatch, inside, back = flow_back(dis, before, now)
        # mismatch is |b + f|; |f| at the source is close to |b| where the check passes
        valid = inside & (mismatch**2 <= 0.01 * 2 * back**2 + 0.5)
        flows.append((x, y, valid))
    return flows


def video_warping_error(
    outputs: Sequence[Frame], flows: list[tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.bool_]]]
) -> dict[str, float]:
    """Mean |out_t+1 - warp(out_t)| over trusted pixels (levels), the output's contrast, their
    ratio, and the share of pixels the flow was trusted at."""
    cv2 = require_opencv()
    errors, shares = [], []
    for (earlier, later), (x, y, valid) in zip(pairwise(outputs), flows, strict=True):
        if earlier.shape[:2] != x.shape:
            raise ValueError(f"outputs {earlier.shape[:2]} must be the frames' size {x.shape}")
        moved = cv2.remap(earlier.astype(np.float32), x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        shares.append(float(valid.mean()))
        if valid.any():
            errors.append(float(np.abs(later.astype(np.float32) - moved)[valid].mean()))
    if not errors:
        raise UserError("the video's frames share no trackable pixels (every pair is a cut or unmatched)")
    contrast = float(np.std(np.stack(outputs).astype(np.float64)))
    error = float(np.mean(errors))
    relative = error / max(contrast, 1e-6)
    return {"warping": error, "contrast": contrast, "warping_rel": relative, "tracked": float(np.mean(shares))}


def video_scores(frames: Sequence[Frame], transforms: dict[str, Transform]) -> dict[str, dict[str, float]]:
    """`video_warping_error` for the photo frames ("photo") and for each named transform.

    A transform is called on the frames in order, so a stateful one (the temporal blend) sees
    the sequence as `stylize clip.mp4` would feed it.
    """
    if len(frames) < 2:
        raise UserError(f"the video has {len(frames)} frame(s); the warping error needs at least 2")
    flows = trusted_flows(frames)
    scores = {"photo": video_warping_error(frames, flows)}
    for name, transform in transforms.items():
        scores[name] = video_warping_error([transform(f) for f in frames], flows)
    return scores


def video_clip(path: str | PathLike[str], size: int, limit: int) -> list[Frame]:
    """The first `limit` frames of a video, longer side `size` px (OpenCV checked first)."""
    require_opencv()
    return [resize_longer_side(frame, size) for frame in read_frames(path, limit)]


def video_scores_for(stylize: Transform, clip: list[Frame], blend: float) -> dict[str, Any]:
    """evaluate --video's scores: per frame, and with stylize --temporal's blend of `blend`."""

    def per_frame(frame: Frame) -> Frame:
        return np.asarray(stylize(frame))

    scores = video_scores(clip, {"model": per_frame, "model --temporal": TemporalBlend(per_frame, blend)})
    return {"frames": len(clip), "height": clip[0].shape[0], "width": clip[0].shape[1], "blend": blend, **scores}
