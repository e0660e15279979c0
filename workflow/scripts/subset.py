from sgt.data.subset import select_from_root
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
sizes = {p.group: p.n}  # every unfiltered task shares one draw, so adding a task never reselects
select_from_root(
    p.root,
    snakemake.wildcards.split,
    sizes,
    seed=p.seed,
    shard_size=p.shard_size,
    out=snakemake.output[0],
    source=p.source,
    options=p.options,
)
