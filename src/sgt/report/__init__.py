"""Aggregation: the paper's tables and figures from tidy evaluation results."""
