from sgt.eval.vlmeval.run import run_vlmeval
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
w, i, p = snakemake.wildcards, snakemake.input, snakemake.params
run_vlmeval(
    i.eval_model,
    i.checkout,
    i.lmudata,
    p.cfg,
    p.workdir,
    snakemake.output[0],
    snakemake.log[0],
    model=w.model,
    variant=w.variant,
    seed=int(w.seed),
    vlm_class=p.vlm_class,
)
