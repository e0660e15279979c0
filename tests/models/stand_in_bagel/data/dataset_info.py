from .interleave_datasets.edit_dataset import UnifiedEditIterableDataset
from .vlm_dataset import SftJSONLIterableDataset

DATASET_REGISTRY = {"unified_edit": UnifiedEditIterableDataset, "vlm_sft": SftJSONLIterableDataset}
DATASET_INFO = {"unified_edit": {"placeholder": {"data_dir": "/path/to/data"}}}
