"""Instruction texts: short paraphrases per task, one drawn per pair (config ``instructions`` overrides).

The paper gives each pair "a concise natural language instruction tailored to the specific task" (Sec. 3.3);
paraphrases keep the model from keying on one fixed string.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    "semantic": (
        "Generate the semantic segmentation map of this image.",
        "Colour every pixel of the image by its object or stuff category.",
        "Produce a semantic segmentation of the image, one colour per category.",
        "Segment this image semantically.",
    ),
    "instance": (
        "Generate the instance segmentation map of this image.",
        "Segment every object instance in the image with its own colour.",
        "Produce an instance segmentation of the image, one colour per object.",
        "Segment each individual object in this image.",
    ),
    "panoptic": (
        "Generate the panoptic segmentation map of this image.",
        "Segment the image into objects and background regions: one colour per object, one per stuff class.",
        "Produce a panoptic segmentation of this image.",
        "Segment every thing and every stuff region in the image.",
    ),
    "detection": (
        "Detect the objects in this image and draw their bounding boxes with labels.",
        "Draw a labelled box around every object in the image.",
        "Localize and classify the objects in this image with bounding boxes.",
        "Mark each object in the image with a box and its category name.",
    ),
    "depth": (
        "Generate the depth map of this image.",
        "Estimate the depth of every pixel in the image.",
        "Predict a relative depth map for this image.",
        "Render how far each pixel of the image is from the camera.",
    ),
    "inpainting": (
        "Fill in the missing regions of this image.",
        "Inpaint the masked parts of the image.",
        "Restore the blacked-out or whited-out areas of this image.",
        "Complete the image where it has been masked.",
    ),
    "edge": (
        "Generate the edge map of this image.",
        "Detect the edges in this image.",
        "Draw the outlines where brightness changes sharply in this image.",
        "Produce a Canny-style edge map of the image.",
    ),
    "reconstruction": (
        "Reconstruct this image.",
        "Reproduce the input image exactly.",
        "Generate the same image again.",
        "Regenerate this image.",
    ),
    "derain_dehaze": (
        "Remove the rain or haze from this image.",
        "Restore a clear image from this rainy or hazy photo.",
        "Derain or dehaze this image.",
        "Recover the clean image hidden behind the rain streaks or haze.",
    ),
    "denoise_deblur_enhance": (
        "Restore this degraded image: remove noise, blur or darkness.",
        "Recover the clean, sharp, well-exposed image.",
        "Denoise, deblur or brighten this image as needed.",
        "Restore the image to high quality.",
    ),
    "isr": (
        "Increase the resolution of this image.",
        "Super-resolve this blurry low-resolution image.",
        "Restore the fine details of this low-resolution image.",
        "Generate a sharp high-resolution version of this image.",
    ),
}


def instructions_for(task: str, entry: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """The paraphrases for ``task``: the config entry's ``instructions`` list if given, else the defaults."""
    given = (entry or {}).get("instructions")
    if given:
        if (
            isinstance(given, str)
            or not isinstance(given, Sequence)
            or not all(isinstance(t, str) for t in given)
        ):
            raise ValueError(f"targets.tasks.{task}.instructions: give a list of strings, got {given!r}")
        return tuple(given)
    if task in DEFAULT_INSTRUCTIONS:
        return DEFAULT_INSTRUCTIONS[task]
    return (f"Generate the {task.replace('_', ' ')} map of this image.",)
