from sgt.io import atomic_write_json
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
# One file that stands for every estimate shard of a split: target jobs depend on it instead of on each shard.
atomic_write_json(snakemake.output[0], {"shards": list(snakemake.input)})
