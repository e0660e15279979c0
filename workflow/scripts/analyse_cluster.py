from sgt.analysis.cluster.run import analyse_cluster_checkpoint
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
analyse_cluster_checkpoint(
    snakemake.input.eval_model,
    snakemake.input.checkout,
    backend=p.backend,
    data_root=p.root,
    split=p.split,
    source=p.source,
    scene_size=p.scene_size,
    benchmarks=list(snakemake.input.benchmarks),
    outputs=dict(snakemake.output.items()),
    ident={"model": w.model, "variant": w.variant, "seed": int(w.seed)},
    cfg=p.cfg,
    seed=int(w.seed),
    threads=snakemake.threads,
    log=snakemake.log[0],
    python=p.python,
)
