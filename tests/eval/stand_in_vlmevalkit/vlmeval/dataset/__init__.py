"""Stand-in of ``vlmeval.dataset``: the classes of our benchmarks, each listing the names it has upstream.

Which class lists which name follows VLMEvalKit at the pinned commit (image_yorn.py, image_mcq.py,
image_vqa.py there), for our names only; ``DATASET_URL`` values are left empty (nothing here downloads).
``ImageBaseDataset.__init__`` calls ``load_data`` as upstream does, and ``load_data`` refuses: the harness
must stub it. ``DATASET_CLASSES`` keeps upstream's order, which decides ``build_dataset``'s pick.
"""

from __future__ import annotations

from typing import Any

supported_video_datasets: dict[str, Any] = {}  # upstream: vlmeval/dataset/video_dataset_config.py


def _names(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, "")


class ImageBaseDataset:
    MODALITY = "IMAGE"
    TYPE = "BASE"
    DATASET_URL: dict[str, str] = {}

    def __init__(self, dataset: str = "MMBench", skip_noimg: bool = True) -> None:
        self.dataset_name = dataset
        self.data = self.load_data(dataset)
        self.post_build(dataset)

    @classmethod
    def supported_datasets(cls) -> list[str]:
        return list(cls.DATASET_URL)

    def load_data(self, dataset: str) -> Any:
        raise RuntimeError(f"stand-in {type(self).__name__} would download {dataset}.tsv")

    def post_build(self, dataset: str) -> None:
        pass


class ImageYORNDataset(ImageBaseDataset):
    TYPE = "Y/N"
    DATASET_URL = _names("MME", "HallusionBench", "POPE", "AMBER", "VSR-zeroshot")


class ImageMCQDataset(ImageBaseDataset):
    TYPE = "MCQ"
    DATASET_URL = _names(
        "MMBench_DEV_EN_V11",
        "MMBench_TEST_EN_V11",
        "SEEDBench_IMG",
        "ScienceQA_VAL",
        "MMStar",
        "RealWorldQA",
        "BLINK",
        "MMVP",
    )


class ImageVQADataset(ImageBaseDataset):
    TYPE = "VQA"
    DATASET_URL = _names("OCRVQA_TEST", "TextVQA_VAL", "DocVQA_VAL", "DocVQA_TEST", "ChartQA_TEST")


class MMMUDataset(ImageMCQDataset):
    DATASET_URL = _names("MMMU_DEV_VAL", "MMMU_TEST")


class OCRBench(ImageBaseDataset):
    TYPE = "VQA"
    DATASET_URL = _names("OCRBench")


class MathVista(ImageBaseDataset):
    TYPE = "VQA"
    DATASET_URL = _names("MathVista_MINI")


class CVBench(ImageMCQDataset):
    DATASET_URL = _names("CV-Bench-2D", "CV-Bench-3D")


class CustomMCQDataset(ImageMCQDataset):
    """Upstream's fallback for unknown TSVs; it inherits ImageMCQDataset's names, listed after it."""


DATASET_CLASSES = [
    ImageYORNDataset,
    ImageMCQDataset,
    ImageVQADataset,
    MMMUDataset,
    OCRBench,
    MathVista,
    CVBench,
    CustomMCQDataset,
]


def build_dataset(dataset_name: str, **kwargs: Any) -> Any:
    """Upstream's pick: a video shortcut, else the first class in DATASET_CLASSES listing the name."""
    if dataset_name in supported_video_datasets:
        return supported_video_datasets[dataset_name](**kwargs)
    for cls in DATASET_CLASSES:
        if dataset_name in cls.supported_datasets():
            return cls(dataset=dataset_name, **kwargs)
    return None
