"""Training engines: how the one loop in :mod:`sgt.train.loop` computes gradients and updates weights.

An engine owns the optimiser (AdamW with the Table 8 betas and weight decay, on the loop's parameter
groups), gradient clipping and the optimiser half of a checkpoint. The loop owns everything else (batches,
learning-rate schedule, the model weights in ``model.safetensors``, ``state.json``), so both engines write
the same checkpoint folder and resume exactly:

- ``torch``: ``torch.optim.AdamW``; ``optimizer.pt`` is its ``state_dict()``.
- ``deepspeed``: DeepSpeed ZeRO stage 2 (fp32) around the same ``torch.optim.AdamW`` as a client optimiser.
  A client optimiser needs no compiled op; DeepSpeed's own ``AdamW`` config builds ``fused_adam`` on first
  use (about 3 min on 2 cores). ``optimizer.pt`` holds the wrapped AdamW's ``state_dict()`` (its state is
  over ZeRO's flat fp32 partitions) plus those partitions, so it is plain tensors and numbers that
  ``torch.load(weights_only=True)`` reads; DeepSpeed's own checkpoint format is not used.

The loop runs one process on CPU, so the DeepSpeed engine runs a gloo process group of world size 1 with
``DS_ACCELERATOR=cpu``; it turns off DeepSpeed's shared-memory all-reduce op, which only helps several ranks
and would otherwise be compiled on first use (about 2 min). Add an engine with ``@register("name")``.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    import torch

    from sgt.train.settings import TrainConfig

logger = logging.getLogger(__name__)

ENGINE_KEY = "models.<m>.finetune.engine (or models.<m>.pretrain.umm.engine)"


class Engine(Protocol):
    name: ClassVar[str]

    def setup(self, model: torch.nn.Module, param_groups: Sequence[dict[str, Any]], cfg: TrainConfig) -> None:
        """Build the optimiser over ``param_groups`` (each carries ``lr_scale``) for ``model``."""

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The optimiser's groups; the loop sets ``lr`` on them every step."""

    def zero_grad(self) -> None: ...

    def backward(self, loss: torch.Tensor) -> None: ...

    def clip(self) -> None:
        """Clip the global gradient norm to ``cfg.grad_clip``."""

    def step(self) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        """Optimiser state as tensors and plain values (``torch.load(weights_only=True)`` reads it)."""

    def load_state_dict(self, state: dict[str, Any]) -> None: ...

    def close(self) -> None:
        """Release engine hooks; the model stays usable (and savable) after training."""


ENGINES: dict[str, type[Engine]] = {}


def register(name: str) -> Callable[[type[Engine]], type[Engine]]:
    def deco(cls: type[Engine]) -> type[Engine]:
        if name in ENGINES:
            raise ValueError(f"training engine {name!r} registered twice")
        cls.name = name
        ENGINES[name] = cls
        return cls

    return deco


def check_engine(name: str, key: str = ENGINE_KEY) -> None:
    """Fail naming ``key`` when ``name`` is not a registered engine."""
    if name not in ENGINES:
        raise ValueError(f"{key}: unknown training engine {name!r}; known: {', '.join(sorted(ENGINES))}")


def make_engine(name: str, key: str = ENGINE_KEY) -> Engine:
    check_engine(name, key)
    return ENGINES[name]()


def _adamw(param_groups: Sequence[dict[str, Any]], cfg: TrainConfig) -> torch.optim.AdamW:
    import torch

    return torch.optim.AdamW(list(param_groups), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)


@register("torch")
class TorchEngine:
    """Plain PyTorch: AdamW, ``clip_grad_norm_``."""

    name: ClassVar[str]

    def setup(self, model: torch.nn.Module, param_groups: Sequence[dict[str, Any]], cfg: TrainConfig) -> None:
        self.model, self.cfg = model, cfg
        self.optimizer = _adamw(param_groups, cfg)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.optimizer.param_groups

    def zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)

    def backward(self, loss: torch.Tensor) -> None:
        loss.backward()

    def clip(self) -> None:
        import torch

        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)

    def step(self) -> None:
        self.optimizer.step()

    def state_dict(self) -> dict[str, Any]:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state)

    def close(self) -> None:
        pass


def _free_port() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def _init_deepspeed() -> Any:
    """Import DeepSpeed on the CPU accelerator and join (or start) a gloo group of world size 1."""
    accel = os.environ.setdefault("DS_ACCELERATOR", "cpu")
    if accel != "cpu":
        raise ValueError(f"the deepspeed engine trains on CPU; unset DS_ACCELERATOR (it is {accel!r})")
    world = os.environ.get("WORLD_SIZE", "1")
    if world != "1":
        raise ValueError(
            f"the deepspeed engine runs one rank (WORLD_SIZE={world}): the loop does not shard batches"
        )
    env = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1"}
    for k, v in env.items():
        os.environ.setdefault(k, v)
    if "MASTER_PORT" not in os.environ:
        os.environ["MASTER_PORT"] = _free_port()
    try:
        import deepspeed
        import deepspeed.ops
    except ImportError as err:
        raise ImportError(
            "engine 'deepspeed' needs the deepspeed package: DS_BUILD_OPS=0 pip install deepspeed==0.19.8"
        ) from err
    logging.getLogger("DeepSpeed").setLevel(logging.WARNING)
    # One rank has nothing to all-reduce through shared memory; without this the op is compiled (~2 min).
    deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False
    deepspeed.init_distributed(dist_backend="gloo", auto_mpi_discovery=False, verbose=False)
    return deepspeed


@register("deepspeed")
class DeepSpeedEngine:
    """DeepSpeed ZeRO stage 2, fp32, with the loop's AdamW as client optimiser (no compiled ops)."""

    name: ClassVar[str]
    zero_stage: ClassVar[int] = 2

    def setup(self, model: torch.nn.Module, param_groups: Sequence[dict[str, Any]], cfg: TrainConfig) -> None:
        deepspeed = _init_deepspeed()
        self.model = model
        config = {
            "train_micro_batch_size_per_gpu": cfg.batch_size,
            "gradient_accumulation_steps": 1,
            "gradient_clipping": cfg.grad_clip,
            "zero_optimization": {"stage": self.zero_stage},
            "steps_per_print": 2**31 - 1,
            "wall_clock_breakdown": False,
        }
        groups = [g for g in param_groups if g["params"]]  # ZeRO flattens each group; none may be empty
        self.engine, self.zero, _, _ = deepspeed.initialize(
            model=model, optimizer=_adamw(groups, cfg), config=config
        )

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.zero.param_groups

    def zero_grad(self) -> None:
        pass  # ZeRO clears its gradient partitions at the end of every step

    def backward(self, loss: torch.Tensor) -> None:
        self.engine.backward(loss)

    def clip(self) -> None:
        pass  # ZeRO clips to gradient_clipping (= cfg.grad_clip) inside step, on the reduced gradients

    def step(self) -> None:
        self.engine.step()

    def state_dict(self) -> dict[str, Any]:
        return {
            "zero_stage": self.zero_stage,
            "optimizer": self.zero.optimizer.state_dict(),
            "fp32_partitions": [t.detach().clone() for t in self.zero.single_partition_of_fp32_groups],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        parts = self.zero.single_partition_of_fp32_groups
        saved = state["fp32_partitions"]
        if state["zero_stage"] != self.zero_stage or [t.shape for t in saved] != [t.shape for t in parts]:
            raise ValueError(
                "deepspeed checkpoint does not match this model's ZeRO partitions "
                f"(stage {state['zero_stage']}, shapes {[tuple(t.shape) for t in saved]}); "
                "delete the ckpt folder"
            )
        self.zero.optimizer.load_state_dict(state["optimizer"])
        for dst, src in zip(parts, saved, strict=True):
            dst.data.copy_(src)

    def close(self) -> None:
        """Remove ZeRO's hooks and give every parameter its own storage again (ZeRO made them views)."""
        self.engine.destroy()
        for p in self.model.parameters():
            p.data = p.data.clone()
            p.grad = None
