#!/usr/bin/env python3
"""Text-line OCR with a Hugging Face TrOCR checkpoint, speaking jouleprint's command protocol.

    hf_ocr.py MODEL_ID INPUTS OUTPUTS [BATCH]

INPUTS lists one image of a text line per line; OUTPUTS gets the recognized text per line. Phases
"load" and "infer" are marked on stdout. Needs: torch, transformers, Pillow, and the checkpoint.
"""
import sys

from jp_phases import Phases


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    model_id, inputs, outputs = sys.argv[1:4]
    batch = int(sys.argv[4]) if len(sys.argv) == 5 else 16
    with Phases("hf_ocr", model_id) as ph:
        ph.phase("load")
        import torch
        from PIL import Image
        from transformers import TrOCRProcessor, VisionEncoderDecoderModel

        processor = TrOCRProcessor.from_pretrained(model_id)
        model = VisionEncoderDecoderModel.from_pretrained(model_id).eval()
        paths = [line.rstrip("\n") for line in open(inputs, encoding="utf-8") if line.strip()]
        ph.phase("infer")
        with open(outputs, "w", encoding="utf-8") as out, torch.inference_mode():
            for i in range(0, len(paths), batch):
                images = [Image.open(p).convert("RGB") for p in paths[i:i + batch]]
                ids = model.generate(processor(images=images, return_tensors="pt").pixel_values)
                for text in processor.batch_decode(ids, skip_special_tokens=True):
                    out.write(" ".join(text.split()) + "\n")


if __name__ == "__main__":
    main()
