# GEdit-Bench-EN and DPG-Bench: images from the generation jobs, judged at the eval.judge endpoint (a
# network-bound CPU job). Without an endpoint, or when it stays down, the rows are NaN with a note saying why.


rule checkout_gedit_bench:
    """Step1X-Edit at its pinned commit, for VIEScore's prompt texts (GEdit-Bench/viescore/vie_prompts.py)."""
    output:
        directory("results/upstream/step1x_edit"),
    log:
        "results/logs/eval/checkout_gedit_bench.log",
    benchmark:
        "results/benchmarks/eval/checkout_gedit_bench.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("checkout")
    resources:
        **resources_for("checkout"),
    params:
        url=setting("eval/gedit/upstream/url"),
        commit=setting("eval/gedit/upstream/commit"),
        key="eval.gedit.upstream.commit",
    script:
        "../scripts/checkout_upstream.py"


rule score_gedit:
    """VIEScore SC/PQ per edit of GEdit-Bench-EN, 0-10; scored items are kept in a work file for reruns."""
    input:
        images=rules.generate_gedit.output[0],
        checkout=rules.checkout_gedit_bench.output[0],
    output:
        "results/eval/{model}/{variant}/gedit/seed{seed}.csv",
    log:
        "results/logs/eval/gedit/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/eval/gedit/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(PLAN.vlmeval_models),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("download")
    resources:
        **resources_for("download"),
    params:
        gedit=setting("eval/gedit"),
        vie_prompts=setting("eval/gedit/vie_prompts"),
        judge=setting("eval/judge"),
        cache=lambda w: f"results/work/judges/{w.model}/{w.variant}/gedit/seed{w.seed}.jsonl",
    script:
        "../scripts/score_gedit.py"


rule score_dpg:
    """DPG-Bench's yes/no questions on every sample of every grid, percent."""
    input:
        images=rules.generate_dpg.output[0],
        checkout=rules.checkout_dpg_bench.output[0],
    output:
        "results/eval/{model}/{variant}/dpg/seed{seed}.csv",
    log:
        "results/logs/eval/dpg/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/eval/dpg/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(PLAN.vlmeval_models),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("download")
    resources:
        **resources_for("download"),
    params:
        questions=setting("eval/dpg/questions"),
        judge=setting("eval/judge"),
        cache=lambda w: f"results/work/judges/{w.model}/{w.variant}/dpg/seed{w.seed}.jsonl",
    script:
        "../scripts/score_dpg.py"
