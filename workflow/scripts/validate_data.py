from sgt.data.roots import unpack_coco_panoptic, validate_coco_root
from sgt.io import atomic_write_json
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
if p.source == "coco":
    unpack_coco_panoptic(p.root, p.splits)
atomic_write_json(snakemake.output[0], validate_coco_root(p.root, p.splits))
