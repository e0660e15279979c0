# sgt-pipeline: the Semantic Generative Tuning study as one DAG.
# data -> targets -> train -> eval -> report; see README.md and workflow/schemas/config.schema.yaml.
import os

from snakemake.utils import min_version

from sgt.io import read_yaml

min_version("9.0")


# The embedded study (config/config.yaml) is the default only when no --configfile is given: Snakemake would
# otherwise merge a named file over it, and config/paper.yaml would inherit the demo's variants and models.
# read_yaml first: Snakemake's error for a YAML syntax error names neither the file nor the line. (A file
# given with --configfile is parsed by Snakemake before this file runs; its error cannot be improved here.)
if not workflow.overwrite_configfiles:
    read_yaml(os.path.join(workflow.basedir, "config", "config.yaml"))

    configfile: os.path.join(workflow.basedir, "config", "config.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/targets.smk"
include: "workflow/rules/depth.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/eval.smk"
include: "workflow/rules/generation.smk"
include: "workflow/rules/geneval_cluster.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/budget.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/judges.smk"
include: "workflow/rules/analysis_cluster.smk"


localrules:
    all,
    tables,


rule all:
    default_target: True
    input:
        PLAN.all_outputs,


cache_function_signatures(workflow.rules)
