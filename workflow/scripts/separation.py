from sgt.logs import setup_logging
from sgt.report.build import write_separation

setup_logging(snakemake.log[0])
write_separation(
    list(snakemake.input.results),
    snakemake.params.study,
    snakemake.input.benchmark_map,
    snakemake.output.csv,
    snakemake.output.md,
)
