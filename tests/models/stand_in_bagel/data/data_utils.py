def pil_img2rgb(image):
    return image.convert("RGB")


def add_special_tokens(tokenizer):
    new = [t for t in ("<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>")]
    tokenizer.add_tokens(new)
    ids = {
        name: tokenizer.convert_tokens_to_ids(t)
        for name, t in zip(
            ("bos_token_id", "eos_token_id", "start_of_image", "end_of_image"), new, strict=True
        )
    }
    return tokenizer, ids, len(new)
