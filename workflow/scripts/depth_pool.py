from sgt.depth.pool import build_pool, write_pool
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
pool = build_pool(
    p.root,
    snakemake.wildcards.split,
    snakemake.input.subset,
    group=p.group,
    n_reserve=p.n_reserve,
    n_shards=p.n_shards,
    shard_size=p.shard_size,
    seed=p.seed,
)
write_pool(pool, snakemake.output[0])
