import random


class DistributedIterableDataset:
    def __init__(self, dataset_name, local_rank=0, world_size=1, num_workers=8):
        self.dataset_name, self.local_rank, self.world_size = dataset_name, local_rank, world_size
        self.num_workers, self.rng = num_workers, random.Random()

    def set_epoch(self, seed=42):
        paths = sorted(self.data_paths, key=str)
        self.rng.seed(seed)
        self.rng.shuffle(paths)
        per_rank = len(paths) // self.world_size
        self.data_paths_per_rank = paths[self.local_rank * per_rank : (self.local_rank + 1) * per_rank]
