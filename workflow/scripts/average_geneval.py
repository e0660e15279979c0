from sgt.eval.geneval_cluster import average_seeds
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
w = snakemake.wildcards
results = {int(k.removeprefix("gseed")): v for k, v in snakemake.input.items()}
average_seeds(results, snakemake.output[0], model=w.model, variant=w.variant, seed=int(w.seed))
