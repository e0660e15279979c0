from sgt.logs import setup_logging
from sgt.report.tables import build_tables

setup_logging(snakemake.log[0])
build_tables(list(snakemake.input), snakemake.output, snakemake.params.variants, snakemake.params.labels)
