"""Image decoding in one place for every reader (COCO, SA-1B, LLaVA, the tiny model's inputs): JPEG/PNG bytes
to RGB arrays, and ``CorruptImageError`` naming the file when they do not decode, so callers can skip it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt


class CorruptImageError(ValueError):
    """An image file that cannot be decoded; callers skip it and draw a replacement."""


def decode_bgr(data: bytes, what: str) -> npt.NDArray[np.uint8]:
    """Decode JPEG/PNG bytes as OpenCV does (BGR); ``CorruptImageError`` names ``what`` when it cannot."""
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if arr is None:
        raise CorruptImageError(f"{what}: cannot decode image (corrupt or truncated); it is skipped")
    return arr


def decode_image(data: bytes, what: str) -> npt.NDArray[np.uint8]:
    """Decode JPEG/PNG bytes to RGB; ``CorruptImageError`` names ``what`` when it cannot."""
    return cv2.cvtColor(decode_bgr(data, what), cv2.COLOR_BGR2RGB)  # 5x faster than a [..., ::-1] copy


def read_image_bytes(path: str | Path) -> bytes:
    """The bytes of an image file; a missing file is a ``CorruptImageError`` like an undecodable one."""
    path = Path(path)
    if not path.is_file():
        raise CorruptImageError(f"{path}: image file missing")
    return path.read_bytes()


def read_image(path: str | Path) -> npt.NDArray[np.uint8]:
    """An image file decoded to RGB uint8 HxWx3."""
    return decode_image(read_image_bytes(path), str(path))
