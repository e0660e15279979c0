"""Model backends: the small built-in UMM and the cluster backends (BAGEL, OmniGen2) behind one interface."""
