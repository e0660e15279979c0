"""Training: in-memory data sets, the one training loop shared by pretraining and fine-tuning, checkpoints."""
