#!/usr/bin/env python3
"""Prepares the items and references the seed specs read, with Hugging Face `datasets`.

    prepare.py cifar10 | cnn_dailymail | prompts

cifar10        data/cifar10/{items,labels}.txt and the 10,000 test images as PNG
cnn_dailymail  data/cnn_dailymail/{articles,highlights}.txt (test split, one per line)
prompts        data/prompts/prompts.txt (the first 100 captions of COCO 2017 validation)
For OCR, `jouleprint ocr-data --n 500 -o data/lines-src` renders lines; list its PNGs in
data/lines/items.txt and their texts in data/lines/text.txt.
Needs network access to the Hugging Face hub, which jouleprint's own build never uses.
"""
import os
import sys


def out(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return open(path, "w", encoding="utf-8")


def cifar10():
    from datasets import load_dataset
    ds = load_dataset("cifar10", split="test")
    names = ds.features["label"].names
    os.makedirs("data/cifar10/images", exist_ok=True)
    with out("data/cifar10/items.txt") as items, out("data/cifar10/labels.txt") as labels:
        for i, row in enumerate(ds):
            path = os.path.abspath("data/cifar10/images/%05d.png" % i)
            row["img"].save(path)
            items.write(path + "\n")
            labels.write(names[row["label"]] + "\n")


def cnn_dailymail():
    from datasets import load_dataset
    ds = load_dataset("cnn_dailymail", "3.0.0", split="test")
    with out("data/cnn_dailymail/articles.txt") as a, out("data/cnn_dailymail/highlights.txt") as h:
        for row in ds:
            a.write(row["article"].replace("\n", "\\n") + "\n")
            h.write(" ".join(row["highlights"].split()) + "\n")


def prompts():
    from datasets import load_dataset
    ds = load_dataset("nlphuji/mscoco_2014_5k_test_image_text_retrieval", split="test")
    with out("data/prompts/prompts.txt") as p:
        for row in list(ds)[:100]:
            p.write(" ".join(str(row["caption"][0]).split()) + "\n")


if __name__ == "__main__":
    jobs = {"cifar10": cifar10, "cnn_dailymail": cnn_dailymail, "prompts": prompts}
    if len(sys.argv) != 2 or sys.argv[1] not in jobs:
        sys.exit(__doc__)
    jobs[sys.argv[1]]()
