"""Depth Anything V2 and DepthPro through ``transformers``, with our own preprocessing (no torchvision).

Both load with ``from_pretrained(model)`` where ``model`` is a hub id or a local directory holding
``config.json``, ``model.safetensors`` and ``preprocessor_config.json``; weights load only from safetensors.
Resize/normalise follow each model's ``preprocessor_config.json`` (DPT rules for Depth Anything, DepthPro's
normalise-then-resize); OpenCV's bicubic differs slightly from PIL's, so maps match the reference
processors closely, not bit for bit. Images are grouped by preprocessed shape and batched on GPU when present.
"""

from __future__ import annotations

import abc
import json
import logging
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from sgt.data.records import Image, Sample
from sgt.depth.registry import DepthEstimator, DepthMap, register_estimator

logger = logging.getLogger(__name__)

# PIL resampling codes in preprocessor configs -> OpenCV / torch modes.
_CV2_RESAMPLE = {0: cv2.INTER_NEAREST, 1: cv2.INTER_LANCZOS4, 2: cv2.INTER_LINEAR, 3: cv2.INTER_CUBIC}
_TORCH_RESAMPLE = {0: "nearest", 1: "bicubic", 2: "bilinear", 3: "bicubic"}


def read_preprocessor_config(model: str) -> dict[str, Any]:
    """``preprocessor_config.json`` of a hub id or local directory (the lookup ``from_pretrained`` uses)."""
    from transformers.utils import cached_file

    try:
        path = cached_file(model, "preprocessor_config.json")
    except OSError as err:
        raise FileNotFoundError(
            f"{model}: no preprocessor_config.json ({err}); point the estimator's 'model' at a directory "
            "with config.json, model.safetensors and preprocessor_config.json (or a reachable hub id)"
        ) from err
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _size(cfg: dict[str, Any], model: str) -> tuple[int, int]:
    size = cfg.get("size")
    if isinstance(size, dict) and "height" in size and "width" in size:
        return int(size["height"]), int(size["width"])
    if isinstance(size, int):
        return size, size
    raise ValueError(f"{model}/preprocessor_config.json: 'size' must be {{height, width}}, got {size!r}")


def _multiple(value: float, multiple: int) -> int:
    """DPT's constrain_to_multiple_of without bounds: nearest multiple, at least one."""
    return max(multiple, int(round(value / multiple) * multiple))


def dpt_resize_shape(
    h: int, w: int, size: tuple[int, int], keep_aspect: bool, multiple: int
) -> tuple[int, int]:
    """The DPT processor's output shape: scale to ``size``, keeping aspect by the factor nearer to 1."""
    scale_h, scale_w = size[0] / h, size[1] / w
    if keep_aspect:
        if abs(1 - scale_w) < abs(1 - scale_h):
            scale_h = scale_w
        else:
            scale_w = scale_h
    return _multiple(scale_h * h, multiple), _multiple(scale_w * w, multiple)


def _normalise(x: npt.NDArray[np.float32], cfg: dict[str, Any]) -> npt.NDArray[np.float32]:
    if cfg.get("do_rescale", True):
        x = x * np.float32(cfg.get("rescale_factor", 1 / 255))
    if cfg.get("do_normalize", True):
        mean = np.asarray(cfg.get("image_mean", [0.5, 0.5, 0.5]), np.float32)
        std = np.asarray(cfg.get("image_std", [0.5, 0.5, 0.5]), np.float32)
        x = (x - mean) / std
    return x


class _HFEstimator(DepthEstimator):
    """Shared loading, batching and device handling; subclasses preprocess and post-process."""

    model_class: str = ""

    def __init__(
        self, *, model: str, batch_size: int = 4, device: str = "auto", dtype: str = "float32"
    ) -> None:
        if not model:
            raise ValueError(f"{type(self).__name__}: 'model' (hub id or local directory) is required")
        self.model_id = str(model)
        self.batch_size = int(batch_size)
        self.device_name = device
        self.dtype_name = dtype
        self._model: Any = None
        self.preprocessor: dict[str, Any] = {}

    def load(self) -> Any:
        """Load weights once (safetensors only) on GPU when present, CPU otherwise."""
        if self._model is not None:
            return self._model
        import torch
        import transformers

        device = self.device_name
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = getattr(torch, self.dtype_name, None)
        if not isinstance(dtype, torch.dtype):
            raise ValueError(
                f"dtype {self.dtype_name!r} is not a torch dtype (use float32, float16, bfloat16)"
            )
        cls = getattr(transformers, self.model_class)
        try:
            model = cls.from_pretrained(self.model_id, use_safetensors=True)
        except OSError as err:
            raise FileNotFoundError(
                f"{self.model_id}: cannot load {self.model_class} from safetensors ({err}); give a local "
                "directory with config.json + model.safetensors, or a hub id when the hub is reachable"
            ) from err
        self._model = model.to(device=device, dtype=dtype).eval()
        self.device, self.dtype = torch.device(device), dtype
        self.preprocessor = read_preprocessor_config(self.model_id)
        self.setup(self._model)
        logger.info("loaded %s from %s on %s (%s)", self.model_class, self.model_id, device, self.dtype_name)
        return self._model

    def setup(self, model: Any) -> None:  # noqa: B027  (optional hook)
        """Read what post-processing needs from the loaded config."""

    @abc.abstractmethod
    def preprocess(self, image: Image) -> npt.NDArray[np.float32]:
        """RGB uint8 H x W x 3 -> normalised float32 3 x h x w, as the model's processor would."""

    @abc.abstractmethod
    def postprocess(self, outputs: Any, index: int, hw: tuple[int, int]) -> DepthMap:
        """Item ``index`` of a batch's outputs as a float32 map of size ``hw``."""

    def estimate(self, samples: Sequence[Sample]) -> list[DepthMap]:
        import torch

        model = self.load()
        inputs = [self.preprocess(s.image) for s in samples]
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, x in enumerate(inputs):
            groups.setdefault(x.shape, []).append(i)
        results: list[DepthMap | None] = [None] * len(samples)
        for members in groups.values():
            for start in range(0, len(members), self.batch_size):
                batch = members[start : start + self.batch_size]
                pixels = torch.from_numpy(np.stack([inputs[i] for i in batch]))
                with torch.inference_mode():
                    outputs = model(pixel_values=pixels.to(self.device, self.dtype))
                for j, i in enumerate(batch):
                    results[i] = self.postprocess(outputs, j, samples[i].image.shape[:2])
        return [r for r in results if r is not None]


def _resize_map(values: Any, hw: tuple[int, int], mode: str) -> Any:
    import torch

    align = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}
    return torch.nn.functional.interpolate(values.float()[None, None], size=hw, mode=mode, **align)[0, 0]


@register_estimator("depth_anything_v2")
class DepthAnythingV2(_HFEstimator):
    """Relative inverse depth (disparity up to scale and shift); a ``metric`` checkpoint gives depth."""

    model_class = "DepthAnythingForDepthEstimation"
    _space = "disparity"

    @property
    def space(self) -> str:
        return self._space

    def setup(self, model: Any) -> None:
        self._space = (
            "depth" if getattr(model.config, "depth_estimation_type", "relative") == "metric" else "disparity"
        )
        if self.preprocessor.get("do_pad"):
            raise ValueError(
                f"{self.model_id}/preprocessor_config.json: do_pad=true is not supported; set it false"
            )

    def preprocess(self, image: Image) -> npt.NDArray[np.float32]:
        cfg = self.preprocessor
        x = image.astype(np.float32)
        if cfg.get("do_resize", True):
            h, w = dpt_resize_shape(
                image.shape[0],
                image.shape[1],
                _size(cfg, self.model_id),
                bool(cfg.get("keep_aspect_ratio", False)),
                int(cfg.get("ensure_multiple_of", 1) or 1),
            )
            x = cv2.resize(x, (w, h), interpolation=_CV2_RESAMPLE[int(cfg.get("resample", 3))])
        return np.ascontiguousarray(_normalise(x, cfg).transpose(2, 0, 1))

    def postprocess(self, outputs: Any, index: int, hw: tuple[int, int]) -> DepthMap:
        pred = outputs.predicted_depth[index]
        return _resize_map(pred, hw, "bicubic").cpu().numpy().astype(np.float32)


@register_estimator("depthpro")
class DepthPro(_HFEstimator):
    """Metric depth: canonical inverse depth rescaled by the predicted field of view (HF post-processing).

    Without a field-of-view head (``use_fov_model: false``) the map is depth up to scale.
    """

    model_class = "DepthProForDepthEstimation"

    @property
    def space(self) -> str:
        return "depth"

    def setup(self, model: Any) -> None:
        if getattr(model, "fov_model", None) is None:
            logger.warning("%s has no field-of-view head: depths are relative, not metric", self.model_id)

    def preprocess(self, image: Image) -> npt.NDArray[np.float32]:
        cfg = self.preprocessor
        x = _normalise(image.astype(np.float32), cfg)  # DepthPro normalises first, then resizes
        if cfg.get("do_resize", True):
            h, w = _size(cfg, self.model_id)
            x = cv2.resize(x, (w, h), interpolation=_CV2_RESAMPLE[int(cfg.get("resample", 2))])
        return np.ascontiguousarray(x.transpose(2, 0, 1))

    def postprocess(self, outputs: Any, index: int, hw: tuple[int, int]) -> DepthMap:
        import torch

        inverse = outputs.predicted_depth[index].float()
        fov = outputs.field_of_view
        if fov is not None:  # depth * width / focal, focal = 0.5 * width / tan(fov / 2)
            inverse = inverse * (2.0 * torch.tan(0.5 * torch.deg2rad(fov[index].float())))
        mode = _TORCH_RESAMPLE[int(self.preprocessor.get("resample", 2))]
        inverse = _resize_map(inverse, hw, mode)
        return (1.0 / torch.clamp(inverse, min=1e-4, max=1e4)).cpu().numpy().astype(np.float32)
