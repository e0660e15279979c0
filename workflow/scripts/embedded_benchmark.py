from sgt.data.vqa import make_qa, write_tsv
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
rows = make_qa(p.root, p.split, [snakemake.wildcards.bench], p.per_image, p.seed)
write_tsv(rows, snakemake.output[0])
