from sgt.data.vqa import make_qa, write_jsonl
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
write_jsonl(make_qa(p.root, p.split, p.benchmarks, p.per_image, p.seed), snakemake.output[0])
