from sgt.depth.tiny import build_tiny_random
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
build_tiny_random(snakemake.params.kind, snakemake.output[0], seed=snakemake.params.seed)
