from sgt.logs import setup_logging
from sgt.report.build import write_config

setup_logging(snakemake.log[0])
write_config(snakemake.params.config, snakemake.output[0])
