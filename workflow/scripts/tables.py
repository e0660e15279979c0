from sgt.logs import setup_logging
from sgt.report.tables import build_tables

setup_logging(snakemake.log[0])
p = snakemake.params
build_tables(list(snakemake.input), snakemake.output, p.variants, p.labels, p.reference)
