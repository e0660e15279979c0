from sgt.logs import setup_logging
from sgt.report.build import write_paper_tables

setup_logging(snakemake.log[0])
write_paper_tables(
    list(snakemake.input.results),
    snakemake.params.study,
    snakemake.params.reference_dir,
    snakemake.input.benchmark_map,
    snakemake.params.paper_model,
    dict(snakemake.output.items()),
)
