from sgt.eval.geneval.cluster import score_run
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
w = snakemake.wildcards
folders = {int(k.removeprefix("gseed")): v for k, v in snakemake.input.items()}
score_run(
    folders,
    snakemake.params.scores,
    snakemake.output[0],
    snakemake.params.cfg,
    model=w.model,
    variant=w.variant,
    seed=int(w.seed),
)
