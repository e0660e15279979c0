"""``torchvision.transforms.functional`` stand-in for PIL images and CHW float tensors."""

from __future__ import annotations

from enum import Enum

import numpy as np
import torch
from PIL import Image


class InterpolationMode(Enum):
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL = {
    InterpolationMode.NEAREST: Image.Resampling.NEAREST,
    InterpolationMode.NEAREST_EXACT: Image.Resampling.NEAREST,
    InterpolationMode.BILINEAR: Image.Resampling.BILINEAR,
    InterpolationMode.BICUBIC: Image.Resampling.BICUBIC,
    InterpolationMode.BOX: Image.Resampling.BOX,
    InterpolationMode.HAMMING: Image.Resampling.HAMMING,
    InterpolationMode.LANCZOS: Image.Resampling.LANCZOS,
}


def _size_of(img) -> tuple[int, int]:
    """(height, width) of a PIL image or a ...HW tensor."""
    if isinstance(img, Image.Image):
        return img.height, img.width
    return int(img.shape[-2]), int(img.shape[-1])


def _target(img, size, max_size) -> tuple[int, int]:
    if isinstance(size, int) or len(size) == 1:  # the shorter side to `size`, keeping the aspect ratio
        short = size if isinstance(size, int) else size[0]
        h, w = _size_of(img)
        if h <= w:
            new_h, new_w = short, int(short * w / h)
        else:
            new_h, new_w = int(short * h / w), short
        if max_size is not None and max(new_h, new_w) > max_size:
            scale = max_size / max(new_h, new_w)
            new_h, new_w = int(new_h * scale), int(new_w * scale)
        return new_h, new_w
    return int(size[0]), int(size[1])


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    if not isinstance(interpolation, InterpolationMode):
        interpolation = InterpolationMode(interpolation) if isinstance(interpolation, str) else interpolation
    h, w = _target(img, size, max_size)
    if isinstance(img, Image.Image):
        return img.resize((w, h), _PIL.get(interpolation, Image.Resampling.BILINEAR))
    mode = {"nearest-exact": "nearest-exact", "nearest": "nearest", "bicubic": "bicubic"}.get(
        interpolation.value, "bilinear"
    )
    batched = img if img.ndim == 4 else img[None]
    kwargs = {"antialias": antialias, "align_corners": False} if mode in ("bilinear", "bicubic") else {}
    out = torch.nn.functional.interpolate(batched.float(), size=(h, w), mode=mode, **kwargs)
    return out if img.ndim == 4 else out[0]


def to_tensor(pic) -> torch.Tensor:
    if isinstance(pic, np.ndarray):
        arr = pic if pic.ndim == 3 else pic[:, :, None]
        tensor = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
        return tensor.float().div(255) if arr.dtype == np.uint8 else tensor
    arr = np.asarray(pic)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    tensor = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    return tensor.float().div(255) if arr.dtype == np.uint8 else tensor.float()


def to_pil_image(pic, mode=None) -> Image.Image:
    if isinstance(pic, Image.Image):
        return pic
    if isinstance(pic, torch.Tensor):
        arr = pic.detach().cpu()
        if arr.is_floating_point():
            arr = (arr * 255).clamp(0, 255).round().to(torch.uint8)
        arr = arr.numpy().transpose(1, 2, 0)
    else:
        arr = np.asarray(pic)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    return Image.fromarray(arr, mode=mode)


def normalize(tensor: torch.Tensor, mean, std, inplace: bool = False) -> torch.Tensor:
    out = tensor if inplace else tensor.clone()
    m = torch.as_tensor(mean, dtype=out.dtype).view(-1, 1, 1)
    s = torch.as_tensor(std, dtype=out.dtype).view(-1, 1, 1)
    return out.sub_(m).div_(s)


def crop(img, top: int, left: int, height: int, width: int):
    if isinstance(img, Image.Image):
        return img.crop((left, top, left + width, top + height))
    return img[..., top : top + height, left : left + width]


def center_crop(img, output_size):
    h, w = _size_of(img)
    th, tw = (output_size, output_size) if isinstance(output_size, int) else output_size
    return crop(img, int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw)


def get_image_size(img) -> list[int]:
    h, w = _size_of(img)
    return [w, h]


def pil_to_tensor(pic) -> torch.Tensor:
    """uint8 CHW, as torchvision gives (transformers imports this name when torchvision is present)."""
    arr = np.asarray(pic)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
