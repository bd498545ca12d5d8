#!/usr/bin/env python3
"""Text to image with a diffusers Stable Diffusion pipeline, speaking jouleprint's command protocol.

    hf_text2image.py MODEL_ID INPUTS OUTPUTS [STEPS]

INPUTS lists one prompt per line; each image is saved beside OUTPUTS (OUTPUTS.0001.png, ...) and
OUTPUTS gets the image path per line. Phases "load" and "infer" are marked on stdout. Needs: torch,
diffusers, transformers, and the checkpoint; a GPU is strongly advised (jouleprint measures it
through NVML).
"""
import sys

from jp_phases import Phases


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    model_id, inputs, outputs = sys.argv[1:4]
    steps = int(sys.argv[4]) if len(sys.argv) == 5 else 50
    with Phases("hf_text2image", model_id) as ph:
        ph.phase("load")
        import torch
        from diffusers import StableDiffusionPipeline

        device = "cuda" if torch.cuda.is_available() else "cpu"
        pipe = StableDiffusionPipeline.from_pretrained(
            model_id, torch_dtype=torch.float16 if device == "cuda" else torch.float32).to(device)
        prompts = [line.rstrip("\n") for line in open(inputs, encoding="utf-8") if line.strip()]
        ph.phase("infer")
        with open(outputs, "w", encoding="utf-8") as out:
            for i, prompt in enumerate(prompts):
                path = "%s.%04d.png" % (outputs, i + 1)
                pipe(prompt, num_inference_steps=steps).images[0].save(path)
                out.write(path + "\n")


if __name__ == "__main__":
    main()
