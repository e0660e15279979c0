"""GenEval's detector for toy-world images: palette quantisation, connected components, shape prototypes.

The toy world paints each object in one of six flat colours (with mild shading and noise) over four stuff
backgrounds, so a pixel's chromaticity (rgb / sum, which shading does not change) names its colour, and
each connected region of one thing colour is an object. Its class follows from three shape measures that
differ between the five shapes: fill ratio of its box (circle pi/4, square and rectangle 1, triangle and
diamond 1/2), box aspect (rectangle 8:3, diamond 2:3, others 1) and the share of pixels below the box centre
(3/4 for the triangle, 1/2 for the rest). The score is the softmax probability of the nearest shape
prototype times the colour purity of the region, so blurry or mixed blobs fall under GenEval's thresholds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from sgt.data.toyworld import COLORS, STUFF_COLORS, THINGS
from sgt.eval.geneval.detectors import DetectionDict, register_detector

# (fill ratio, log aspect w/h, share of pixels below the box centre, fill of the box's four corner patches)
# of each shape as rendered: the ideal values (pi/4, 1, 1, 1/2, 1/2 fill; 8:3 and 2:3 aspects; 3/4 below
# for the triangle; corners full for square and rectangle, half the bottom ones for the triangle, empty
# otherwise) moved to what rasterised edges and JPEG fringes make of them in toy-world renders.
SHAPE_PROTOTYPES: dict[str, tuple[float, float, float, float]] = {
    "circle": (0.78, 0.0, 0.5, 0.15),
    "square": (0.95, 0.0, 0.5, 0.9),
    "rectangle": (0.95, math.log(2.5), 0.5, 0.9),
    "triangle": (0.55, 0.0, 0.71, 0.35),
    "diamond": (0.59, math.log(0.72), 0.54, 0.05),
}
FEATURE_SCALES = np.array([0.08, 0.18, 0.07, 0.2])  # how far a feature may stray from its prototype
CORNER = 0.25  # corner patch side, as a fraction of the box side


def _chromaticity(rgb: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    rgb = np.asarray(rgb, dtype=np.float64)
    return rgb / np.maximum(rgb.sum(axis=-1, keepdims=True), 1.0)


@dataclass(frozen=True, slots=True)
class Blob:
    """One connected region of a thing colour, with its shape features (in scene-aspect pixels)."""

    color: str
    box: tuple[float, float, float, float]
    area: int
    features: tuple[float, float, float, float]
    purity: float


class ToyWorldDetector:
    """Finds toy-world shapes in an RGB image and returns GenEval detections (all of them, scored).

    ``scene_aspect`` (width / height of the rendered scene) undoes the squashing of a generated square
    image: the image is stretched to that aspect before shapes are measured, and boxes are mapped back.
    ``max_color_distance`` bounds the chromaticity distance of a pixel to its thing colour;
    ``min_area_frac`` drops regions smaller than that fraction of the image (noise, COCO crowds).
    """

    def __init__(
        self,
        scene_aspect: float | None = None,
        max_color_distance: float = 0.09,
        min_area_frac: float = 0.0015,
        min_area: int = 6,
        temperature: float = 1.0,
    ) -> None:
        if scene_aspect is not None and scene_aspect <= 0:
            raise ValueError(f"scene_aspect must be positive (scene width / height), got {scene_aspect}")
        self.scene_aspect = scene_aspect
        self.max_color_distance = max_color_distance
        self.min_area_frac = min_area_frac
        self.min_area = min_area
        self.temperature = temperature
        self.thing_colors = list(COLORS)
        palette = [COLORS[c] for c in self.thing_colors] + list(STUFF_COLORS.values())
        self._palette = _chromaticity(np.array(palette, dtype=np.float64))
        self._classes = list(SHAPE_PROTOTYPES)
        self._protos = np.array([SHAPE_PROTOTYPES[c] for c in self._classes])
        unknown = set(self._classes) - set(THINGS.values())
        if unknown:  # pragma: no cover - guards the prototype table against renamed classes
            raise ValueError(f"shape prototypes {sorted(unknown)} are not toy-world classes")

    def _color_labels(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.int16]:
        """Per pixel: index of its thing colour, or -1 for stuff and unclear pixels."""
        chroma = _chromaticity(image.astype(np.float32)).astype(np.float32)
        d2 = ((chroma[..., None, :] - self._palette.astype(np.float32)) ** 2).sum(axis=-1)
        nearest = d2.argmin(axis=-1)
        near = np.take_along_axis(d2, nearest[..., None], axis=-1)[..., 0]
        dark = image.astype(np.int32).sum(axis=-1) < 90  # chromaticity of near-black pixels is noise
        is_thing = (nearest < len(self.thing_colors)) & (near < self.max_color_distance**2) & ~dark
        return np.where(is_thing, nearest, -1).astype(np.int16)

    def blobs(self, image: npt.NDArray[np.uint8]) -> list[Blob]:
        """Connected regions of each thing colour, measured in scene-aspect pixels."""
        h, w = image.shape[:2]
        if self.scene_aspect is not None and abs(w / h - self.scene_aspect) > 1e-3:
            sw = max(1, round(h * self.scene_aspect))
            image = cv2.resize(image, (sw, h), interpolation=cv2.INTER_LINEAR)
        sx = w / image.shape[1]
        labels = self._color_labels(image)
        min_area = max(self.min_area, self.min_area_frac * labels.size)
        found = []
        for ci, color in enumerate(self.thing_colors):
            mask = (labels == ci).astype(np.uint8)
            if not mask.any():
                continue
            n, comp, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
            for k in range(1, n):
                x, y, bw, bh, area = (int(v) for v in stats[k])
                if area < min_area:
                    continue
                region = comp[y : y + bh, x : x + bw] == k
                rows = np.nonzero(region)[0]
                below = float(np.mean(rows + 0.5 > bh / 2))
                cw, ch = max(1, round(CORNER * bw)), max(1, round(CORNER * bh))
                corners = [region[:ch, :cw], region[:ch, -cw:], region[-ch:, :cw], region[-ch:, -cw:]]
                corner_fill = float(np.mean([c.mean() for c in corners]))
                features = (area / (bw * bh), math.log(bw / bh), below, corner_fill)
                # purity: how much of the box's non-object pixels are the same colour's near misses
                box_labels = labels[y : y + bh, x : x + bw]
                other = int(((box_labels >= 0) & (box_labels != ci)).sum())
                purity = area / (area + other)
                box = (x * sx, float(y), (x + bw) * sx, float(y + bh))
                found.append(Blob(color, box, area, features, purity))
        return found

    def classify(self, blob: Blob) -> tuple[str, float]:
        """The nearest shape prototype and its softmax probability times the blob's colour purity."""
        d2 = (((np.array(blob.features) - self._protos) / FEATURE_SCALES) ** 2).sum(axis=1)
        logits = -d2 / (2 * self.temperature)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        best = int(p.argmax())
        return self._classes[best], float(p[best]) * blob.purity

    def detect(self, image: npt.NDArray[np.uint8]) -> list[DetectionDict]:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(
                f"toy-world detector needs an HxWx3 uint8 RGB image, got {image.dtype} {image.shape}"
            )
        out: list[DetectionDict] = []
        for blob in self.blobs(image):
            label, score = self.classify(blob)
            out.append({"label": label, "score": round(score, 6), "box": list(blob.box), "color": blob.color})
        return out


register_detector("toyworld")(ToyWorldDetector)
