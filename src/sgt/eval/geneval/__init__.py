"""GenEval (Table 3): the prompt sets, its file layout, its per-image rules, the detectors they read, and the
jobs that score the tiny model and the cluster models."""
