from sgt.logs import setup_logging
from sgt.models.backends.upstream import checkout

setup_logging(snakemake.log[0])
checkout(snakemake.params.url, snakemake.params.commit, snakemake.output[0])
