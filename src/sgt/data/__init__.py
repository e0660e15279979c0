"""Data sets: the procedurally generated toy world and the COCO-format loader shared with real COCO."""
