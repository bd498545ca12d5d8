#!/usr/bin/env python3
"""Summarization with a Hugging Face seq2seq checkpoint (T5), speaking jouleprint's command protocol.

    hf_summarize.py MODEL_ID INPUTS OUTPUTS [MAX_NEW_TOKENS]

INPUTS lists one document per line (newlines inside a document escaped as \\n); OUTPUTS gets one
summary per line. Phases "load" and "infer" are marked on stdout. Needs: torch, transformers,
sentencepiece, and the checkpoint.
"""
import sys

from jp_phases import Phases


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    model_id, inputs, outputs = sys.argv[1:4]
    max_new = int(sys.argv[4]) if len(sys.argv) == 5 else 96
    with Phases("hf_summarize", model_id) as ph:
        ph.phase("load")
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(model_id)
        model = AutoModelForSeq2SeqLM.from_pretrained(model_id).eval()
        docs = [line.rstrip("\n").replace("\\n", "\n") for line in open(inputs, encoding="utf-8")]
        ph.phase("infer")
        with open(outputs, "w", encoding="utf-8") as out, torch.inference_mode():
            for doc in docs:
                ids = tok("summarize: " + doc, return_tensors="pt", truncation=True, max_length=512).input_ids
                summary = tok.decode(model.generate(ids, max_new_tokens=max_new)[0], skip_special_tokens=True)
                out.write(" ".join(summary.split()) + "\n")


if __name__ == "__main__":
    main()
