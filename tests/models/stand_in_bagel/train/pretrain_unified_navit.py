"""Stand-in trainer: the argument classes (a few of upstream's fields) and the CE assert of its loop."""

from dataclasses import dataclass


@dataclass
class ModelArguments:
    model_path: str = "hf/BAGEL-7B-MoT"
    layer_module: str = "Qwen2MoTDecoderLayer"
    max_latent_size: int = 32
    latent_patch_size: int = 2
    vit_patch_size: int = 14
    vit_max_num_patch_per_side: int = 70
    interpolate_pos: bool = False
    text_cond_dropout_prob: float = 0.1
    vae_cond_dropout_prob: float = 0.3
    vit_cond_dropout_prob: float = 0.3


@dataclass
class DataArguments:
    dataset_config_file: str = "data/configs/example.yaml"
    num_workers: int = 4
    max_num_tokens_per_sample: int = 16384
    max_num_tokens: int = 36864
    prefer_buffer_before: int = 16384
    max_buffer_size: int = 50
    data_seed: int = 42


@dataclass
class TrainingArguments:
    visual_gen: bool = True
    visual_und: bool = True
    results_dir: str = "results"
    checkpoint_dir: str = "results/checkpoints"
    wandb_name: str = "run"
    wandb_offline: bool = False
    global_seed: int = 4396
    auto_resume: bool = False
    resume_from: str = ""
    resume_model_only: bool = False
    finetune_from_ema: bool = False
    finetune_from_hf: bool = False
    log_every: int = 10
    save_every: int = 2000
    total_steps: int = 500000
    warmup_steps: int = 2000
    lr_scheduler: str = "constant"
    lr: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.95
    num_shard: int = 8
    num_replicate: int = 1
    sharding_strategy: str = "HYBRID_SHARD"
    freeze_llm: bool = False
    freeze_vit: bool = False
    freeze_vae: bool = True
    freeze_und: bool = False
    use_flex: bool = False
    expected_num_tokens: int = 32768
    gradient_accumulation_steps: int = 1


def main():
    ce = None
    if ce is None:
        assert not training_args.visual_und  # noqa: F821


if __name__ == "__main__":
    main()
