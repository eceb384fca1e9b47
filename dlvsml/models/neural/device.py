"""Where a net trains, why there, and in which precision."""

from __future__ import annotations

import torch

from dlvsml.errors import ModelError

DEVICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def resolve_device(requested: str) -> tuple[torch.device, str]:
    """The torch device for ``requested`` (auto prefers cuda > mps > cpu) and the reason for it."""
    if requested not in DEVICES:
        raise ModelError(f"device {requested!r} is not one of {', '.join(DEVICES)}")
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda"), f"auto: CUDA available ({torch.cuda.get_device_name(0)})"
        if _mps_available():
            return torch.device("mps"), "auto: Apple MPS available"
        return torch.device("cpu"), "auto: no CUDA or MPS device found"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ModelError(
            "device 'cuda' was requested but torch sees no CUDA GPU; use device 'auto'"
        )
    if requested == "mps" and not _mps_available():
        raise ModelError("device 'mps' was requested but MPS is unavailable; use device 'auto'")
    return torch.device(requested), f"requested: {requested}"


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """bf16 on CUDA where supported, else fp16 (with a GradScaler); full precision elsewhere."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
