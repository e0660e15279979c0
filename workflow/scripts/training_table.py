from sgt.logs import setup_logging
from sgt.report.training import write_training_table

setup_logging(snakemake.log[0])
p = snakemake.params
write_training_table(
    list(snakemake.input), p.labels, p.order, p.recipe, snakemake.output.csv, snakemake.output.md
)
