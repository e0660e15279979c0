from sgt.logs import setup_logging
from sgt.report.build import write_findings

setup_logging(snakemake.log[0])
write_findings(
    list(snakemake.input.results),
    list(snakemake.input.analysis),
    snakemake.params.study,
    snakemake.params.levels,
    snakemake.input.benchmark_map,
    snakemake.params.missing_figures,
    snakemake.params.run_name,
    snakemake.output.md,
    snakemake.output.html,
)
