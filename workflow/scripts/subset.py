from sgt.data.subset import write_subset
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
write_subset(p.root, snakemake.wildcards.split, p.n, p.shard_size, p.seed, snakemake.output[0])
