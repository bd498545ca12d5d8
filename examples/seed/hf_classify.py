#!/usr/bin/env python3
"""Image classification with a Hugging Face checkpoint, speaking jouleprint's command protocol.

    hf_classify.py MODEL_ID INPUTS OUTPUTS [BATCH]

INPUTS lists one image path per line; OUTPUTS gets one predicted label per line, in the same order.
Prints "JOULEPRINT PHASE load" before loading the model and "JOULEPRINT PHASE infer" before the
first image, so that jouleprint splits the energy between the two. Needs: torch, transformers,
Pillow, and the checkpoint (downloaded by transformers on first use, or a local folder).
"""
import sys

from jp_phases import Phases


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    model_id, inputs, outputs = sys.argv[1:4]
    batch = int(sys.argv[4]) if len(sys.argv) == 5 else 32
    with Phases("hf_classify", model_id) as ph:
        ph.phase("load")
        import torch
        from PIL import Image
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        processor = AutoImageProcessor.from_pretrained(model_id)
        model = AutoModelForImageClassification.from_pretrained(model_id).eval()
        paths = [line.rstrip("\n") for line in open(inputs, encoding="utf-8") if line.strip()]
        ph.phase("infer")
        with open(outputs, "w", encoding="utf-8") as out, torch.inference_mode():
            for i in range(0, len(paths), batch):
                images = [Image.open(p).convert("RGB") for p in paths[i:i + batch]]
                logits = model(**processor(images=images, return_tensors="pt")).logits
                for k in logits.argmax(-1).tolist():
                    out.write(model.config.id2label[k] + "\n")


if __name__ == "__main__":
    main()
