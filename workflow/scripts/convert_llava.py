from sgt.data.llava import convert_llava
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
convert_llava(list(snakemake.input), snakemake.output[0], snakemake.params.image_dir)
