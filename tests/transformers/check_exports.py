"""Checks MoESdk's Hugging Face export with transformers itself.

Each case folder (written by `dotnet run --project tests/MoESdk.Benchmarks -c Release -- transformers write ...`)
holds an exported model (`hf/`), the token ids of a held-out passage, the logits MoESdk computes from that folder at
every position (`logits.f32`, float32 [tokens x vocabulary]) and MoESdk's 24 greedy tokens. This script loads each
folder with transformers' AutoModelForCausalLM and AutoTokenizer, in float32 (TF32 off), on CUDA when there is a GPU
and on the CPU, and compares: the tokenizer's ids for the passage, the logits, the argmax at every position and the
greedy continuation. transformers does not run where MoESdk's tests run; run this where it does:

    python3 tests/transformers/check_exports.py CASES_DIR [--tolerance 2e-3]

Exit status 1 when a case's logits differ by more than the tolerance or its greedy tokens differ.
"""
import argparse
import json
import pathlib
import sys

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer


def greedy(model, ids, count):
    sequence = ids
    out = []
    with torch.no_grad():
        for _ in range(count):
            nxt = model(sequence).logits[0, -1].argmax().view(1, 1)
            out.append(int(nxt))
            sequence = torch.cat([sequence, nxt], dim=1)
    return out


def check(case, device, dtype, tolerance):
    reference = json.loads((case / "reference.json").read_text())
    tokens = reference["tokens"]
    expected = np.fromfile(case / "logits.f32", dtype="<f4").reshape(len(tokens), reference["vocabulary"])
    model = AutoModelForCausalLM.from_pretrained(case / "hf", dtype=dtype, attn_implementation="eager").to(device).eval()
    ids = torch.tensor([tokens], device=device)
    with torch.no_grad():
        logits = model(ids).logits[0].float().cpu().numpy()
    diff = float(np.abs(logits - expected).max())
    spread = float(expected.std())
    argmax_same = int((logits.argmax(-1) == expected.argmax(-1)).sum())
    continuation = greedy(model, ids, len(reference["greedy"]))
    greedy_same = continuation == reference["greedy"]
    return {
        "architecture": type(model).__name__,
        "diff": diff,
        "spread": spread,
        "argmax": f"{argmax_same}/{len(tokens)}",
        "greedy": greedy_same,
        "first_greedy_difference": next((i for i, (a, b) in enumerate(zip(continuation, reference["greedy"])) if a != b), None),
        "ok": diff <= tolerance and greedy_same,
    }


def tokenizer_check(case):
    reference = json.loads((case / "reference.json").read_text())
    try:
        tokenizer = AutoTokenizer.from_pretrained(case / "hf")
    except Exception as error:  # a folder without tokenizer files, or one transformers cannot read
        return f"not read: {type(error).__name__}: {str(error)[:160]}"
    ids = tokenizer(reference["text"], add_special_tokens=reference["bos"])["input_ids"]
    same = ids == reference["tokens"]
    return "identical" if same else f"differs ({len(ids)} vs {len(reference['tokens'])} ids)"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("cases", type=pathlib.Path)
    parser.add_argument("--tolerance", type=float, default=2e-3)
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    devices = ([("cuda", torch.float32)] if torch.cuda.is_available() else []) + [("cpu", torch.float32)]
    print(f"transformers {transformers.__version__}, torch {torch.__version__}"
          + (f" ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else ""))
    print("| case | transformers class | device | max logit diff | logit std | argmax equal | 24 greedy tokens | tokenizer |")
    print("|---|---|---|---|---|---|---|---|")
    failed = 0
    for case in sorted(p for p in args.cases.iterdir() if (p / "reference.json").exists()):
        tokenizer = tokenizer_check(case)
        for device, dtype in devices:
            where = f"{device} {str(dtype).removeprefix('torch.')}"
            try:
                r = check(case, device, dtype, args.tolerance)
            except Exception as error:
                failed += 1
                print(f"| {case.name} | load failed | {where} | {type(error).__name__}: {str(error)[:200]} | | | | |")
                continue
            failed += 0 if r["ok"] else 1
            greedy_text = "identical" if r["greedy"] else f"differ from token {r['first_greedy_difference']}"
            print(f"| {case.name} | {r['architecture']} | {where} | {r['diff']:.2e} | {r['spread']:.2f} | {r['argmax']} | {greedy_text} | {tokenizer} |")
    print("all cases agree" if failed == 0 else f"{failed} case(s) disagree")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
