from sgt.analysis.figures import make_figures
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
make_figures(
    {k: list(v) for k, v in snakemake.input.items()},
    dict(snakemake.output.items()),
    compare=snakemake.params.compare,
    labels=snakemake.params.labels,
)
