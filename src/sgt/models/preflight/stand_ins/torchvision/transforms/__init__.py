"""``torchvision.transforms`` stand-in: the class wrappers upstream builds its pipelines from."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torchvision.transforms import functional
from torchvision.transforms.functional import InterpolationMode

F = functional


class Compose:
    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img


class Lambda:
    def __init__(self, fn: Callable) -> None:
        self.fn = fn

    def __call__(self, img):
        return self.fn(img)


class ToTensor:
    def __call__(self, pic):
        return functional.to_tensor(pic)


class ToPILImage:
    def __call__(self, pic):
        return functional.to_pil_image(pic)


class Normalize:
    def __init__(self, mean, std, inplace: bool = False) -> None:
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor):
        return functional.normalize(tensor, self.mean, self.std, self.inplace)


class Resize:
    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True) -> None:
        self.size, self.interpolation = size, interpolation
        self.max_size, self.antialias = max_size, antialias

    def __call__(self, img):
        return functional.resize(img, self.size, self.interpolation, self.max_size, self.antialias)


class CenterCrop:
    def __init__(self, size) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def __call__(self, img):
        return functional.center_crop(img, self.size)


__all__ = [
    "CenterCrop",
    "Compose",
    "InterpolationMode",
    "Lambda",
    "Normalize",
    "Resize",
    "ToPILImage",
    "ToTensor",
    "functional",
]
