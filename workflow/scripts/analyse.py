from sgt.analysis.run import analyse_checkpoint
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
analyse_checkpoint(
    snakemake.input.model,
    data_root=p.root,
    split=p.split,
    source=p.source,
    scene_size=p.scene_size,
    benchmarks=list(snakemake.input.benchmarks),
    outputs=dict(snakemake.output.items()),
    ident={"model": w.model, "variant": w.variant, "seed": int(w.seed)},
    cfg=p.cfg,
    sampling_steps=p.sampling_steps,
    seed=int(w.seed),
    threads=snakemake.threads,
)
