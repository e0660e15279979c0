from sgt.logs import setup_logging
from sgt.targets.shards import write_manifest

setup_logging(snakemake.log[0])
write_manifest(list(snakemake.input), snakemake.output[0])
