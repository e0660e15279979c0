from sgt.data.roots import validate_coco_root
from sgt.io import atomic_write_json
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
atomic_write_json(snakemake.output[0], validate_coco_root(snakemake.input.root, snakemake.params.splits))
