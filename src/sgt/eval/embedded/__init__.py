"""The embedded evaluation of tiny-UMM checkpoints on held-out toy-world data, and its judge-free VQA
scoring."""
