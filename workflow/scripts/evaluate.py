from sgt.eval.embedded.evaluate import evaluate_checkpoint
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
i, o, p, w = snakemake.input, snakemake.output, snakemake.params, snakemake.wildcards
run = dict(model_name=w.model, variant=w.variant, seed=int(w.seed), threads=snakemake.threads)
evaluate_checkpoint(i.model, p.benchmarks, p.gen_shards, o.csv, eval_cfg=p.eval_cfg, **run)
if "geneval_csv" in o.keys():  # eval.geneval.enabled: GenEval in the same process (rule evaluate)
    from sgt.eval.geneval.tiny import run_geneval

    run_geneval(
        i.model,
        i.geneval_metadata,
        o.geneval_images,
        o.geneval_results,
        o.geneval_csv,
        cfg=p.eval_cfg["geneval"],
        scene_aspect=p.scene_aspect,
        **run,
    )
