# sgt-pipeline: the Semantic Generative Tuning study as one DAG.
# data -> targets -> train -> eval -> report; see README.md and workflow/schemas/config.schema.yaml.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/targets.smk"
include: "workflow/rules/depth.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/eval.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/analysis.smk"


localrules:
    all,
    tables,


rule all:
    default_target: True
    input:
        all_outputs,
