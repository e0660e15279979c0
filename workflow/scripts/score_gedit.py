import os

from sgt.eval.gedit.run import score_gedit_folder
from sgt.eval.judge.chat import endpoint_from_config
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
i, p, w = snakemake.input, snakemake.params, snakemake.wildcards
judge = p.judge or {}
score_gedit_folder(
    i.images,
    os.path.join(i.checkout, p.vie_prompts),
    endpoint_from_config(p.judge),
    snakemake.output[0],
    p.cache,
    {"model": w.model, "variant": w.variant, "seed": int(w.seed)},
    language=p.gedit["language"],
    max_tries=p.gedit["max_tries"],
    max_unscored_fraction=judge.get("max_unscored_fraction", 0.05),
    workers=judge.get("workers", 5),
)
