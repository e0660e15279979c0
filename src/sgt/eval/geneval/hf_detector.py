"""GenEval's real detector through ``transformers``: Mask2Former instances, CLIP zero-shot colours.

Upstream (djghosh13/geneval ``evaluation/evaluate_images.py``) runs mmdet's Mask2Former (Swin-S, COCO) and
classifies each kept object's colour with CLIP ViT-L/14: the image is composited over a #999 grey canvas
through the object's mask, cropped to its box, and compared with a per-class zero-shot classifier built from
three templates per colour ("a photo of a {c} {class}", "a photo of a {c}-colored {class}", "a photo of a
{c} object"; text embeddings normalised, averaged over templates, normalised again). Weights load from a hub
id or a local folder, safetensors only. ``label_map`` renames the checkpoint's labels to GenEval's names.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from sgt.eval.geneval.detectors import DetectionDict, register_detector
from sgt.eval.geneval.rules import COLORS, THRESHOLD

logger = logging.getLogger(__name__)
TEMPLATES = ("a photo of a {c} {cls}", "a photo of a {c}-colored {cls}", "a photo of a {c} object")
BACKGROUND = (153, 153, 153)  # upstream's bgcolor "#999"


class Mask2FormerClipDetector:
    """Instances from Mask2Former; colours from CLIP for those scoring above ``color_min_score``."""

    def __init__(
        self,
        detector: str,
        clip: str,
        device: str = "cpu",
        label_map: Mapping[str, str] | None = None,
        color_min_score: float = THRESHOLD,
        max_per_class: int = 16,
    ) -> None:
        from transformers import (
            AutoImageProcessor,
            CLIPModel,
            CLIPProcessor,
            Mask2FormerForUniversalSegmentation,
        )

        self.device = device
        self.model = Mask2FormerForUniversalSegmentation.from_pretrained(detector, use_safetensors=True)
        self.model.to(device).eval()
        self.processor = AutoImageProcessor.from_pretrained(detector)
        self.clip = CLIPModel.from_pretrained(clip, use_safetensors=True).to(device).eval()
        self.clip_processor = CLIPProcessor.from_pretrained(clip)
        self.label_map = dict(label_map or {})
        self.color_min_score = color_min_score
        self.max_per_class = max_per_class
        self._classifiers: dict[str, Any] = {}

    def _label(self, label_id: int) -> str:
        name = str(self.model.config.id2label[int(label_id)])
        return self.label_map.get(name, name)

    def _classifier(self, classname: str) -> Any:
        """Colours x dim zero-shot weights for ``classname`` (cached per class, as upstream caches)."""
        import torch

        if classname not in self._classifiers:
            weights = []
            for c in COLORS:
                texts = [t.format(c=c, cls=classname) for t in TEMPLATES]
                tok = self.clip_processor.tokenizer(texts, padding=True, return_tensors="pt").to(self.device)
                with torch.no_grad():
                    emb = _pooled(self.clip.get_text_features(**tok))
                emb = emb / emb.norm(dim=-1, keepdim=True)
                mean = emb.mean(dim=0)
                weights.append(mean / mean.norm())
            self._classifiers[classname] = torch.stack(weights)
        return self._classifiers[classname]

    def _colour(
        self, image: Image.Image, mask: npt.NDArray[np.bool_], box: list[float], classname: str
    ) -> str:
        import torch

        blank = Image.new("RGB", image.size, BACKGROUND)
        crop = Image.composite(image, blank, Image.fromarray(mask.astype(np.uint8) * 255)).crop(box)
        pixels = self.clip_processor(images=crop, return_tensors="pt")["pixel_values"].to(self.device)
        with torch.no_grad():
            emb = _pooled(self.clip.get_image_features(pixel_values=pixels))
        emb = emb / emb.norm(dim=-1, keepdim=True)
        return COLORS[int((emb @ self._classifier(classname).T).argmax())]

    def detect(self, image: npt.NDArray[np.uint8]) -> list[DetectionDict]:
        import torch

        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"detector needs an HxWx3 uint8 RGB image, got {image.dtype} {image.shape}")
        pil = Image.fromarray(image)
        h, w = image.shape[:2]
        inputs = self.processor(images=pil, return_tensors="pt").to(self.device)
        with torch.no_grad():
            outputs = self.model(**inputs)
        result = self.processor.post_process_instance_segmentation(
            outputs, threshold=0.0, target_sizes=[(h, w)], return_binary_maps=True
        )[0]
        masks = result["segmentation"]
        detections: list[DetectionDict] = []
        coloured: dict[str, int] = {}
        for k, info in sorted(enumerate(result["segments_info"]), key=lambda kv: -kv[1]["score"]):
            mask = masks[k].cpu().numpy().astype(bool) if masks is not None else np.zeros((h, w), bool)
            ys, xs = np.nonzero(mask)
            if len(xs) == 0:
                continue
            box = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]
            label, score = self._label(info["label_id"]), float(info["score"])
            colour = None
            if score > self.color_min_score and coloured.get(label, 0) < self.max_per_class:
                colour = self._colour(pil, mask, box, label)
                coloured[label] = coloured.get(label, 0) + 1
            detections.append({"label": label, "score": score, "box": box, "color": colour})
        return detections


def _pooled(out: Any) -> Any:
    """CLIP features: transformers 5 returns a model output (its ``pooler_output``), 4.x a tensor."""
    return out if hasattr(out, "norm") else out.pooler_output


register_detector("mask2former_clip")(Mask2FormerClipDetector)
