"""A writer's adapter on the packed base: what compressing it at load costs and saves.

Usage:
  python benchmarks/bench_adapter_decode.py --adapter DIR [--text FILE --offset N --bytes N]
      [--energies 1.0,0.9,0.7] [--threads 1] [--rounds 5] [--tokens 96] [--no-compile]
      [--skip-eval]

The Write room runs an adapter on the packed (int4) base on the fly (``lora.LowRankAdded``),
each projection's update compressed to the fewest singular directions that keep
``lora.ON_THE_FLY_ENERGY`` of it (``lora.compress_update``). For the base alone and for the
adapter at each ``--energies`` value this prints the directions kept (of the adapter's own),
the megabytes of float32 the decoder reads a token for them, the held-out bits per byte (the
split of ``bench_finetune.py``: the last 20 % of ``--bytes`` from ``--offset``, scored as
``reverie eval text`` scores, 2,048-token windows) and greedy decode tokens/s through the
engine's own ``Generation`` — eager, and with the compiled decode step (built in this process
for each model). Timings are interleaved rounds, medians printed. The machine is shared: the
load average is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_finetune import DATA, EVAL_CONTEXT, load, make_data  # noqa: E402

PROMPT = "It was a dark and stormy night; the rain fell in torrents"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--adapter", type=Path, required=True)
    ap.add_argument("--text", type=Path, default=DATA)
    ap.add_argument("--bytes", type=int, default=40_000)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--energies", default="1.0,0.9,0.7")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=96)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--skip-eval", action="store_true", help="time the decoding only")
    args = ap.parse_args()

    import torch

    from desktop_app.core.sampling import SamplerSettings
    from desktop_app.ml.text import lora
    from desktop_app.ml.text.adapter import base_of, load_adapter_model
    from desktop_app.ml.text.bpe import EOT_ID
    from desktop_app.ml.text.compiled import DecodeCompiler
    from desktop_app.ml.text.generate import Generation, prompt_ids
    from desktop_app.ml.text.loader import load_text_model
    from desktop_app.ml.training.text_eval import bits_per_byte

    _, _, _, heldout = make_data(args.text, args.bytes, Path(tempfile.mkdtemp()), args.offset)
    torch.set_num_threads(os.cpu_count() or 1)     # the scoring: every core
    models = {"base alone": load_text_model(base_of(args.adapter), precision="auto")}
    for energy in (float(e) for e in args.energies.split(",")):
        lora.ON_THE_FLY_ENERGY = energy
        models[f"adapter, energy {energy:g}"] = load_adapter_model(args.adapter,
                                                                   precision="auto")
    print(f"{args.adapter}: {len(heldout.encode()):,} bytes held out; decoding on "
          f"{args.threads} thread(s); {os.cpu_count()} CPUs; {load()}", flush=True)
    for label, lm in models.items():
        mods = [m for m in lm.model.modules() if isinstance(m, lora.LowRankAdded)]
        kept, full = sum(m.rank for m in mods), sum(m.full_rank for m in mods)
        mb = sum(m.lora_At.numel() + m.lora_Bt.numel() for m in mods) * 4 / 1e6
        what = f"{kept}/{full} directions, {mb:.1f} MB" if mods else "no adapter"
        if not args.skip_eval:
            with torch.no_grad():
                bpb = bits_per_byte(lm.model, lm.tokenizer.tok, [heldout], EVAL_CONTEXT,
                                    bos_id=EOT_ID, batch=1, check_roundtrip=False).bits_per_byte
            what += f", held-out {bpb:.4f} bits/byte"
        print(f"  {label} ({lm.precision}): {what}", flush=True)

    torch.set_num_threads(args.threads)            # the decoding: as asked
    settings = SamplerSettings(temperature=0.0, seed=0)

    def rate(lm) -> float:
        ids = prompt_ids(lm, PROMPT)
        with torch.no_grad():
            return Generation(lm, ids, settings, max_tokens=args.tokens).run()[0] \
                .generated_tokens_per_s

    modes = ["eager"] if args.no_compile else ["eager", "compiled"]
    for mode in modes:
        if mode == "compiled":
            for label, lm in models.items():   # built here: a child would load its own energy
                lm.compiler = DecodeCompiler(lm.model, source=None)
                if not (lm.compiler.start(args.threads) and lm.compiler.wait()):
                    print(f"  {label}: the compiled step failed ({lm.compiler.error})")
                    return 1
        for lm in models.values():
            rate(lm)   # warm-up
        rates: dict[str, list[float]] = {label: [] for label in models}
        for _ in range(args.rounds):
            for label, lm in models.items():
                rates[label].append(rate(lm))
        base = statistics.median(rates["base alone"])
        print(f"decode, {mode}, greedy {args.tokens} tokens, median of {args.rounds} "
              f"({load()}):")
        for label, got in rates.items():
            med = statistics.median(got)
            print(f"  {label}: {med:.1f} tokens/s ({med / base:.2f} of the base's)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
