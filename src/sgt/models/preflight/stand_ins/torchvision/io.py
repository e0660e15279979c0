"""``torchvision.io`` stand-in: transformers imports these names when torchvision is present."""

from enum import Enum


class ImageReadMode(Enum):
    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4


def decode_image(*args, **kwargs):
    raise NotImplementedError("torchvision stand-in (sgt preflight): decode images with PIL instead")
