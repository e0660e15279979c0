from sgt.depth.estimate import estimate_shard
from sgt.depth.pool import pool_shard_ids
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
kind, options = p.estimator
image_ids = pool_shard_ids(snakemake.input.pool, int(w.shard))
estimate_shard(kind, options, p.root, w.split, image_ids, snakemake.output[0], seed=p.seed)
