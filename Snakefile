# sgt-pipeline: the Semantic Generative Tuning study as one DAG.
# data -> targets -> train -> eval -> report; see README.md and workflow/schemas/config.schema.yaml.
import os

from snakemake.utils import min_version

min_version("9.0")


# The embedded study (config/config.yaml) is the default only when no --configfile is given: Snakemake would
# otherwise merge a named file over it, and config/paper.yaml would inherit the demo's variants and models.
if not workflow.overwrite_configfiles:

    configfile: os.path.join(workflow.basedir, "config", "config.yaml")


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


cache_function_signatures(workflow.rules)
