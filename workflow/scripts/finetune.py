from sgt.logs import setup_logging
from sgt.train.study import finetune

setup_logging(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
finetune(
    snakemake.input.base,
    p.task_shards,
    p.task_levels,
    snakemake.input.get("vqa"),
    p.mix,
    p.train_cfg,
    snakemake.output[0],
    p.workdir,
    seed=int(w.seed),
    threads=snakemake.threads,
    variant=w.variant,
)
