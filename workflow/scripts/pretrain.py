from sgt.logs import setup_logging
from sgt.models.backends.run import build_base

setup_logging(snakemake.log[0])
p = snakemake.params
build_base(
    p.model_cfg,
    p.root,
    p.split,
    snakemake.input.vqa,
    snakemake.output[0],
    p.workdir,
    seed=p.seed,
    threads=snakemake.threads,
)
