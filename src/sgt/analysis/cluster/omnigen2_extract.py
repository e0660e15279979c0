"""OmniGen2's raw numbers for Figs. 7 and 8a, measured in its MLLM (the fine-tuned Qwen2.5-VL) with hooks.

Run with ``python -m`` in the OmniGen2 checkout by
:func:`sgt.analysis.cluster.run.analyse_cluster_checkpoint`.
OmniGen2's understanding path is transformers' ``Qwen2_5_VLForConditionalGeneration``, which its pipeline
imports as is (``omnigen2/pipelines/omnigen2/pipeline_omnigen2.py``); the eval folder rule vlmeval_model
builds holds exactly that model, with the SGT fork's fine-tuned weights.

* Fig. 7: a forward pre-hook on the vision tower's ``merger`` records its input: the last ViT block's
  patch tokens (z_vit, before they are merged into the LLM's width), for each crop.
* Fig. 8a: the chat turn [image, question] + the reference answer (teacher-forced) through the whole
  model with eager attention, whose weights (the same softmax the flash kernel computes) transformers
  returns per layer; queries are the question and answer tokens, keys the image tokens.

Fig. 8b is not measured: see :data:`sgt.analysis.cluster.EXTRACTORS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgt.analysis.cluster.extract_io import question_items, read_request, torch_device, write_result


def _pil(array: np.ndarray) -> Any:
    from PIL import Image

    return Image.fromarray(np.asarray(array, dtype=np.uint8)).convert("RGB")


class QwenProbe:
    """The fine-tuned Qwen2.5-VL (bf16, eager attention), its processor and the ViT hook."""

    def __init__(self, folder: Path, device: str) -> None:
        from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

        self.model = Qwen2_5_VLForConditionalGeneration.from_pretrained(
            str(folder), torch_dtype=torch.bfloat16, attn_implementation="eager"
        )
        self.model = self.model.to(device).eval()
        self.processor = AutoProcessor.from_pretrained(str(folder))
        self.device = device
        self.visual = getattr(self.model, "visual", None) or self.model.model.visual  # < 4.52 and after
        self.vit_in: list[torch.Tensor] = []
        self.visual.merger.register_forward_pre_hook(lambda _m, args: self.vit_in.append(args[0].detach()))
        tok = self.processor.tokenizer
        self.vision_end = tok.convert_tokens_to_ids("<|vision_end|>")
        self.im_end = tok.convert_tokens_to_ids("<|im_end|>")
        self.image_token = self.model.config.image_token_id

    def vit_features(self, images: np.ndarray) -> np.ndarray:
        """Fig. 7: flattened last-block ViT tokens per image (all images share one size)."""
        feats = []
        for array in images:
            pix = self.processor.image_processor(images=[_pil(array)], return_tensors="pt")
            self.vit_in.clear()
            self.visual(
                pix["pixel_values"].to(self.device, torch.bfloat16),
                grid_thw=pix["image_grid_thw"].to(self.device),
            )
            if len(self.vit_in) != 1:
                raise RuntimeError(f"expected one call of the merger per image, saw {len(self.vit_in)}")
            feats.append(self.vit_in[0].float().flatten().cpu().numpy())
        if len({f.shape for f in feats}) > 1:
            raise RuntimeError("images gave different numbers of ViT tokens; resize them to one size first")
        return np.stack(feats).astype(np.float32)

    def _turn(self, image: Any, question: str, answer: str) -> tuple[dict[str, Any], list[int]]:
        """Inputs of [chat turn with image and question][answer], and the question and answer positions."""
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
        prompt = self.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        head = self.processor(text=[prompt], images=[image], return_tensors="pt")["input_ids"][0]
        inputs = self.processor(text=[prompt + answer + "<|im_end|>"], images=[image], return_tensors="pt")
        ids = inputs["input_ids"][0]
        if not torch.equal(ids[: len(head)], head):
            raise RuntimeError(f"the answer {answer!r} changes the tokens of the turn before it")
        start = int((ids == self.vision_end).nonzero()[-1]) + 1
        end = start + int((ids[start:] == self.im_end).nonzero()[0])
        return inputs, [*range(start, end), *range(len(head), len(ids) - 1)]

    def visual_shares(self, items: list[dict[str, Any]]) -> np.ndarray:
        """Fig. 8a: per item and layer, the attention question/answer tokens put on the image tokens."""
        rows = []
        for item in items:
            inputs, queries = self._turn(_pil(item["image"]), item["question"], item["answer"])
            image = (inputs["input_ids"][0] == self.image_token).nonzero().flatten()
            out = self.model(**{k: v.to(self.device) for k, v in inputs.items()}, output_attentions=True)
            if not out.attentions or any(a is None for a in out.attentions):
                raise RuntimeError("the model returned no attention weights (not eager attention?)")
            q = torch.tensor(queries)
            rows.append(
                [float(a[0][:, q][..., image.to(a.device)].float().sum(-1).mean()) for a in out.attentions]
            )
        return np.asarray(rows, dtype=np.float64)


def main(argv: list[str] | None = None) -> None:
    args, req = read_request(argv, __doc__.splitlines()[0])
    device = torch_device(req)
    probe = QwenProbe(Path(req["model"]), device)
    arrays = np.load(req["inputs"])
    with torch.no_grad():
        features = probe.vit_features(arrays["crops"])
        visual = probe.visual_shares(question_items(arrays, req["questions"]))
    np.savez(req["arrays"], features=features, visual=visual)
    layers = probe.model.config.get_text_config().num_hidden_layers
    out = {
        "prompt_rows": [],
        "hooked": {
            "vit": "visual.merger (input)",
            "attention": [f"language model layer {i} (eager weights)" for i in range(layers)],
        },
        "load": {"dtype": "bfloat16", "device": device, "attention": "eager"},
    }
    write_result(args.out, out)


if __name__ == "__main__":
    main()
