from sgt.data.subset import shard_image_ids
from sgt.logs import setup_logging
from sgt.targets.shards import build_shard

setup_logging(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
image_ids = shard_image_ids(snakemake.input.subset, p.subset_group, int(w.shard))
build_shard(
    p.root,
    p.split,
    image_ids,
    w.task,
    p.task_cfg,
    p.seed,
    snakemake.output[0],
    source=p.source,
    options=p.data_options,
)
