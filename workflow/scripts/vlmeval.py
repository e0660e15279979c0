from sgt.eval.vlmeval_run import run_vlmeval
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
w = snakemake.wildcards
run_vlmeval(
    snakemake.input.model,
    snakemake.input.checkout,
    snakemake.params.cfg,
    snakemake.params.workdir,
    snakemake.output[0],
    snakemake.log[0],
    model=w.model,
    variant=w.variant,
    seed=int(w.seed),
)
