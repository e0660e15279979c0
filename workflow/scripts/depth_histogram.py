from sgt.depth.measure import plot_filter_table
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
plot_filter_table(snakemake.input[0], snakemake.params.threshold, snakemake.output[0])
