import os

from sgt.eval.dpg.run import score_dpg_folder
from sgt.eval.judge.chat import endpoint_from_config
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
i, p, w = snakemake.input, snakemake.params, snakemake.wildcards
judge = p.judge or {}
score_dpg_folder(
    i.images,
    os.path.join(i.checkout, p.questions),
    endpoint_from_config(p.judge),
    snakemake.output[0],
    p.cache,
    {"model": w.model, "variant": w.variant, "seed": int(w.seed)},
    max_unscored_fraction=judge.get("max_unscored_fraction", 0.05),
    workers=judge.get("workers", 5),
)
