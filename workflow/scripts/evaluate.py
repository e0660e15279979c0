from sgt.eval.embedded.evaluate import evaluate_checkpoint
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
evaluate_checkpoint(
    snakemake.input.model,
    p.benchmarks,
    p.gen_shards,
    snakemake.output[0],
    model_name=w.model,
    variant=w.variant,
    seed=int(w.seed),
    eval_cfg=p.eval_cfg,
    threads=snakemake.threads,
)
