"""Training throughput (tokens/s) of candidate Llama sizes on this machine (random tokens).

Usage: python benchmarks/train_text_speed.py [--threads 1] [--steps 4] [--batch 16]
Prints, per configuration: parameters, seconds per step, tokens per second (forward + backward
+ AdamW, batch x context tokens per step; the first step is a warm-up and not timed).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from desktop_app.ml.text.llama import LlamaConfig, LlamaForCausalLM

CANDIDATES = {  # name: (hidden, layers, heads, mlp, vocab)
    "d192-L6-v4096": (192, 6, 6, 512, 4096),
    "d256-L4-v4096": (256, 4, 8, 688, 4096),
    "d256-L6-v8192": (256, 6, 8, 688, 8192),
    "d256-L8-v8192": (256, 8, 8, 704, 8192),
    "d320-L6-v8192": (320, 6, 10, 864, 8192),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--only", nargs="*")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for name, (h, layers, heads, mlp, vocab) in CANDIDATES.items():
        if a.only and name not in a.only:
            continue
        torch.manual_seed(0)
        cfg = LlamaConfig(vocab_size=vocab, hidden_size=h, intermediate_size=mlp,
                          num_hidden_layers=layers, num_attention_heads=heads,
                          max_position_embeddings=a.context, tie_word_embeddings=True)
        model = LlamaForCausalLM(cfg)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        x = torch.randint(0, vocab, (a.batch, a.context + 1))
        times = []
        for i in range(a.steps + 1):
            t = time.perf_counter()
            logits = model(x[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, vocab), x[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if i:
                times.append(time.perf_counter() - t)
        s = sum(times) / len(times)
        print(f"{name:16s} {model.num_parameters() / 1e6:6.2f}M params  {s:6.2f} s/step  "
              f"{a.batch * a.context / s:8,.0f} tok/s  (threads={a.threads})", flush=True)


if __name__ == "__main__":
    main()
