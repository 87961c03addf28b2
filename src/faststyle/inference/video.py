"""Stylize every frame of a video file with PyAV; the audio track is kept.

Output codecs follow the output suffix: .mp4/.m4v/.mov/.mkv get H.264 (yuv420p, CRF 18)
and AAC, .webm gets VP9 and Opus. Audio is copied untouched when the container accepts
its codec, and re-encoded otherwise; only the first video and audio streams are kept
(subtitles and data tracks are dropped). Frame timestamps are kept, so variable-frame-rate
clips stay in sync. A rotated phone clip (display-matrix side data) is turned upright
before stylizing and written upright with no rotation flag. yuv420p needs even sizes, so
an odd width or height loses its last pixel column or row.

The output is written to a temp file and renamed when complete: an error or Ctrl-C
never leaves a half-written video under the final name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import numpy as np
from numpy.typing import NDArray

from faststyle.errors import UserError
from faststyle.image_io import atomic_path

if TYPE_CHECKING:
    from av.audio.frame import AudioFrame
    from av.audio.stream import AudioStream
    from av.container import InputContainer, OutputContainer
    from av.packet import Packet
    from av.stream import Stream
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream
    from tqdm import tqdm

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm"}
VideoEncoder = Literal["libx264", "libvpx-vp9"]
AudioEncoder = Literal["aac", "libopus"]
# suffix -> (FFmpeg muxer, video encoder, audio encoder, audio codecs the muxer takes as they are)
CONTAINERS: dict[str, tuple[str, VideoEncoder, AudioEncoder, set[str] | None]] = {
    ".mp4": ("mp4", "libx264", "aac", {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}),
    ".m4v": ("mp4", "libx264", "aac", {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}),
    ".mov": ("mov", "libx264", "aac", {"aac", "mp3", "alac", "ac3", "pcm_s16le", "pcm_s24le"}),
    ".mkv": ("matroska", "libx264", "aac", None),  # None: Matroska takes any codec
    ".webm": ("webm", "libvpx-vp9", "libopus", {"opus", "vorbis"}),
}
OPUS_RATES = (48000, 24000, 16000, 12000, 8000)


def is_video(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def _upright(frame: VideoFrame) -> NDArray[np.uint8]:
    """Decoded frame -> uint8 [H, W, 3] RGB as a player shows it (display rotation applied)."""
    rgb = cast("NDArray[np.uint8]", frame.to_ndarray(format="rgb24"))  # rgb24: uint8 [H, W, 3]
    k = round(frame.rotation / 90) % 4  # counter-clockwise quarter turns, as np.rot90 counts them
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


def _copies_audio(in_audio: AudioStream, copyable: set[str] | None) -> bool:
    """Whether the output container accepts the input's audio codec as it is."""
    return copyable is None or in_audio.codec_context.name in copyable


def _add_audio(out: OutputContainer, in_audio: AudioStream, audio_encoder: AudioEncoder, copy: bool) -> AudioStream:
    """Output audio stream: a copy of the input's, or an encoder for the container's codec."""
    if copy:
        return out.add_stream_from_template(in_audio)
    rate = in_audio.codec_context.sample_rate or 48000
    if audio_encoder == "libopus" and rate not in OPUS_RATES:
        rate = 48000
    stream = out.add_stream(audio_encoder, rate=rate)
    layout = in_audio.codec_context.layout
    stream.codec_context.layout = layout.name if layout and layout.nb_channels <= 2 else "stereo"
    return stream


def _add_video(
    out: OutputContainer, in_video: VideoStream, encoder: VideoEncoder, width: int, height: int
) -> VideoStream:
    stream = out.add_stream(encoder, rate=in_video.average_rate or 30)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    # Keep the input's clock so frame timestamps carry over exactly.
    assert in_video.time_base is not None  # a demuxed stream always has one
    stream.time_base = stream.codec_context.time_base = in_video.time_base
    stream.options = {"crf": "18"} if encoder == "libx264" else {"crf": "30", "b:v": "0"}
    return stream


def stylize_video(
    in_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    transform: Callable[[NDArray[np.uint8]], NDArray[np.uint8]],
    progress: bool | None = None,
) -> Path:
    """Apply `transform` (uint8 [H, W, 3] -> uint8 [h, w, 3]) to every frame; keep the audio.

    `progress`: True shows a tqdm bar, False hides it, None shows it on a terminal only.
    """
    import av
    from tqdm import tqdm

    in_path, out_path = Path(in_path), Path(out_path)
    suffix = out_path.suffix.lower()
    if suffix not in CONTAINERS:
        raise UserError(f"{out_path}: unknown video format '{suffix}' (use one of {sorted(CONTAINERS)})")
    muxer, video_encoder, audio_encoder, copyable = CONTAINERS[suffix]
    inp = _open(in_path)
    try:
        in_video = inp.streams.video[0]
        in_audio = inp.streams.audio[0] if inp.streams.audio else None
        in_video.thread_type = "AUTO"
        with atomic_path(out_path) as tmp, av.open(tmp, "w", format=muxer) as out:
            _transcode(
                inp,
                in_video,
                in_audio,
                out,
                video_encoder,
                audio_encoder,
                copyable,
                transform,
                tqdm(
                    total=in_video.frames or None,
                    unit="frame",
                    desc=in_path.name,
                    leave=False,
                    disable=None if progress is None else not progress,
                ),
            )
    except UserError:
        raise
    except av.FFmpegError as e:
        raise UserError(f"{in_path}: cannot stylize video ({_brief(e)})") from None
    finally:
        inp.close()
    return out_path


def read_frames(path: str | os.PathLike[str], limit: int) -> list[NDArray[np.uint8]]:
    """The first `limit` frames of a video, upright, as uint8 [H, W, 3] RGB."""
    import av

    inp = _open(Path(path))
    frames: list[NDArray[np.uint8]] = []
    try:
        for frame in inp.decode(video=0):
            frames.append(_upright(frame))
            if len(frames) == limit:
                break
    except av.FFmpegError as e:
        raise UserError(f"{path}: cannot decode video ({_brief(e)})") from None
    finally:
        inp.close()
    return frames


def _open(in_path: Path) -> InputContainer:
    """An opened input with a video stream, or a one-line UserError."""
    import av

    if not in_path.is_file():
        raise UserError(f"{in_path}: no such file")
    if in_path.stat().st_size == 0:
        raise UserError(f"{in_path}: empty file (0 bytes)")
    try:
        inp = av.open(str(in_path))
    except Exception as e:
        raise UserError(f"{in_path}: not a video file FFmpeg can read ({_brief(e)})") from None
    if not inp.streams.video:
        inp.close()
        raise UserError(f"{in_path}: has no video stream")
    return inp


def _transcode(
    inp: InputContainer,
    in_video: VideoStream,
    in_audio: AudioStream | None,
    out: OutputContainer,
    video_encoder: VideoEncoder,
    audio_encoder: AudioEncoder,
    copyable: set[str] | None,
    transform: Callable[[NDArray[np.uint8]], NDArray[np.uint8]],
    bar: tqdm,
) -> None:
    """Demux the input once; frames go through `transform` and the encoder, audio is copied or re-encoded.

    Output streams are created at the first decoded frame, once its stylized size is known;
    audio that arrives before it waits in `early` (the header is written by the first mux).
    """
    import av

    streams = [in_video] + ([in_audio] if in_audio is not None else [])
    copy_audio = in_audio is not None and _copies_audio(in_audio, copyable)
    out_video: VideoStream | None = None
    out_audio: AudioStream | None = None
    # audio packets (copy) or frames (re-encode) demuxed before the first video frame
    early: list[Packet[Stream] | AudioFrame] = []
    first_pts = last_pts = None

    def put_audio(item: Packet[Stream] | AudioFrame) -> None:
        assert out_audio is not None  # added with the video stream, before any audio is put
        if isinstance(item, av.Packet):  # copy_audio: the packets as demuxed
            item.stream = out_audio
            out.mux(item)
        else:
            item.pts = None  # let the encoder's own audio clock number the samples
            out.mux(out_audio.encode(item))

    with bar:
        for packet in inp.demux(*streams):
            if packet.stream is in_audio:
                if copy_audio:  # the demuxer's final flush packet (no dts) has no data to copy
                    items: list[Packet[Stream]] | list[AudioFrame] = [packet] if packet.dts is not None else []
                else:
                    items = cast("list[AudioFrame]", packet.decode())  # an audio packet's frames
                if out_video is None:
                    early.extend(items)
                else:
                    for item in items:
                        put_audio(item)
                continue
            for frame in cast("list[VideoFrame]", packet.decode()):  # a video packet's frames
                image = transform(_upright(frame))
                h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2  # yuv420p: even sizes only
                if out_video is None:
                    out_video = _add_video(out, in_video, video_encoder, w, h)
                    if in_audio is not None:
                        out_audio = _add_audio(out, in_audio, audio_encoder, copy_audio)
                new = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:h, :w]), format="rgb24")
                # Keep the source timestamps, nudged forward if a broken file repeats one.
                pts = frame.pts if frame.pts is not None else (last_pts or 0) + 1
                last_pts = pts = pts if last_pts is None or pts > last_pts else last_pts + 1
                first_pts = pts if first_pts is None else first_pts
                new.pts, new.time_base = pts, in_video.time_base
                out.mux(out_video.encode(new))
                for item in early:
                    put_audio(item)
                early.clear()
                bar.update(1)
        if out_video is None or first_pts is None or last_pts is None:
            raise UserError(f"{inp.name}: no video frames could be decoded")
        assert in_video.time_base is not None  # every demuxed stream has one
        _check_complete(inp, in_video, float((last_pts - first_pts) * in_video.time_base))
        out.mux(out_video.encode(None))
        if out_audio is not None and not copy_audio:
            out.mux(out_audio.encode(None))


def _check_complete(inp: InputContainer, video: VideoStream, decoded_s: float) -> None:
    """A file cut short still opens, and FFmpeg decodes what is there without complaint: compare
    how far decoding got with the duration the container declares, and refuse a clip that stops
    well short of it (nothing is written)."""
    import av

    declared_s = inp.duration / av.time_base if inp.duration else 0.0
    if not declared_s and video.duration is not None and video.time_base is not None:
        declared_s = float(video.duration * video.time_base)
    frame_s = 1.0 / float(video.average_rate) if video.average_rate else 0.04
    if declared_s and decoded_s + frame_s < 0.9 * declared_s - 0.5:
        raise UserError(
            f"{inp.name}: decoding stopped at {decoded_s + frame_s:.1f} s of the {declared_s:.1f} s the file "
            "declares; it looks truncated or damaged (nothing written)"
        )


def _brief(e: Exception) -> str:
    """FFmpeg's own words for an error, without the errno and file name PyAV wraps them in."""
    text = getattr(e, "strerror", None) or str(e).strip() or type(e).__name__
    return text.splitlines()[0][:160]
