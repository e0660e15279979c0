from sgt.data.llava import build_llava_vqa
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
manifests = dict(zip(p.counts, snakemake.input, strict=True))
build_llava_vqa(manifests, p.counts, p.seed, snakemake.output[0], p.image_dir)
