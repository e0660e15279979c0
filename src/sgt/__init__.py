"""sgt-pipeline: the Semantic Generative Tuning study as a package the Snakemake workflow calls."""

__version__ = "0.1.0"
