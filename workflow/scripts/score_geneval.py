from sgt.eval.geneval_cluster import score_folder
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
score_folder(snakemake.input.images, snakemake.output[0], snakemake.params.cfg)
