from sgt.depth.filter import task_shard_ids
from sgt.io import read_json
from sgt.logs import setup_logging
from sgt.targets.shards import build_shard

setup_logging(snakemake.log[0])
p, w, i = snakemake.params, snakemake.wildcards, snakemake.input
image_ids = task_shard_ids(i.subset, p.subset_group, int(w.shard), i.get("depth_filter"))
# the target estimator's maps, for tasks that read depth: their shards, as the index lists them
depth = read_json(i.depth)["shards"] if i.get("depth") else []
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
    depth_estimates=depth,
)
