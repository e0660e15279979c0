"""Mechanism analyses of the paper's Sec. 4.4 on the built-in tiny UMM: feature separability (Fig. 7),
attention on visual tokens while answering (Fig. 8a) and on prompt words while generating (Fig. 8b)."""
