from sgt.logs import setup_logging
from sgt.models.backends.run import build_untrained

setup_logging(snakemake.log[0])
build_untrained(snakemake.params.model_cfg, snakemake.output[0], seed=int(snakemake.wildcards.seed))
