from sgt.logs import setup_logging
from sgt.report.build import write_figure

setup_logging(snakemake.log[0])
write_figure(
    snakemake.wildcards.fig,
    snakemake.params.plan,
    snakemake.params.study,
    snakemake.params.results,
    snakemake.params.metrics,
    snakemake.params.reference_dir,
    snakemake.params.benchmark_map,
    snakemake.params.paper_model,
    snakemake.output.png,
    snakemake.output.pdf,
    snakemake.output.data,
)
