"""Test helpers that are useful outside pytest too (e.g. a throw-away one-node SLURM cluster)."""
