from sgt.eval.geneval.tiny import run_geneval
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
i, o, p, w = snakemake.input, snakemake.output, snakemake.params, snakemake.wildcards
run_geneval(
    i.model,
    i.metadata,
    o.images,
    o.results,
    o.csv,
    model_name=w.model,
    variant=w.variant,
    seed=int(w.seed),
    cfg=p.cfg,
    scene_aspect=p.scene_aspect,
    threads=snakemake.threads,
)
