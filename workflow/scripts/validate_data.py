from sgt.data.archive import ExtractLimits
from sgt.data.registry import validate_root
from sgt.io import atomic_write_json
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
summary = validate_root(p.source, p.root, p.splits, limits=ExtractLimits(**p.limits), **p.options)
atomic_write_json(snakemake.output[0], summary)
