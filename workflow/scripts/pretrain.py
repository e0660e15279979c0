from sgt.logs import setup_logging
from sgt.train.study import pretrain_base

setup_logging(snakemake.log[0])
p = snakemake.params
pretrain_base(
    p.root,
    p.split,
    snakemake.input.vqa,
    p.model_cfg.get("architecture", {}),
    p.model_cfg.get("pretrain", {}),
    snakemake.output[0],
    p.workdir,
    seed=p.seed,
    threads=snakemake.threads,
)
