from sgt.depth.filter import filter_pool
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
filter_pool(
    snakemake.input.pool,
    snakemake.input.target,
    snakemake.input.reference,
    p.threshold,
    p.seed,
    snakemake.output[0],
    max_depth=p.max_depth,
    min_valid_fraction=p.min_valid_fraction,
)
