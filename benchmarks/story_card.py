"""MODEL_CARD.md text for the built-in story model, filled only with measured figures.

Used by ``finish_story_model.py``; kept separate so the card's wording is easy to review.
"""

from __future__ import annotations

from pathlib import Path

from desktop_app.ml import checkpoints as ck
from desktop_app.ml.training.schedule import warmup_cosine

PROMPTS = (
    "Once upon a time, in a little village at the edge of a great forest,",
    '"Where are you going?" asked the Rabbit.',
    "The old castle stood on the hill, and every night",
)
TEMPERATURES = (0.7, 1.0, 1.3)


def _fmt_time(s: float) -> str:
    return f"{int(s) // 3600} h {int(s) % 3600 // 60:02d} min"


def _history(resizes: list, final_steps: int, t: dict) -> str:
    if not resizes:
        return "The run went through in one go."
    parts = [f"started with `--steps {resizes[0][0]}`"]
    for (_, stopped), nxt in zip(resizes, [r[0] for r in resizes[1:]] + [None]):
        parts.append(f"stopped with SIGTERM at step {stopped} and resumed with "
                     + (f"`--steps {nxt}`" if nxt else "the command above"))
    # largest relative gap between the learning rate actually used and the final schedule's
    gap, start = 0.0, 0
    for total, stopped in resizes:
        for s in range(start, stopped):
            kw = dict(max_lr=t["lr"], min_lr=t["min_lr"], warmup=t["warmup_steps"])
            used = warmup_cosine(s, total=total, **kw)
            final = warmup_cosine(s, total=final_steps, **kw)
            gap = max(gap, abs(used - final) / final)
        start = stopped
    return ("History of this run: it was " + ", then ".join(parts) + ", to fit the session on a "
            "machine whose load from other jobs changed a lot. Only the length of the cosine "
            f"decay changed (up to step {resizes[-1][1]} the learning rate differed by at most "
            f"{gap * 100:.1f} % from the final schedule's); data windows are a pure function of "
            "(seed, step) and the optimizer state is restored, so the resumed run saw the same "
            "batches as an uninterrupted one.")


def write_card(path: Path, f: dict) -> None:
    h = f["heldout"]
    base = f["baseline_char5gram_kn_bpb"]
    bpb = h["bits_per_byte"]
    if base:
        pct = (base - bpb) / base * 100
        gap = (f"{pct:.1f} % fewer bits" if pct > 0
               else f"{-pct:.1f} % MORE bits: fails the quality bar")
        vs_base = (f"{bpb:.3f} vs {base:.3f} for the character 5-gram Kneser-Ney baseline on "
                   f"the same split ({gap})")
    else:
        vs_base = "(5-gram baseline not computed: run benchmarks/char_ngram_baseline.py)"
    vs_ppmd = ("below" if bpb < f["ppmd_bpb"] else "above")
    t = f["training"]
    lines = [
        "---",
        "license: MIT",
        "attribution: trained on public-domain (pre-1929) stories from Project Gutenberg "
        "texts and Standard Ebooks",
        "---",
        "",
        "# reverie-stories",
        "",
        "Reverie's built-in story model: a small Llama-architecture language model trained from "
        "scratch by Reverie's own training code (`reverie train text`) on public-domain English "
        "stories. It continues prose in the Write room with nothing downloaded.",
        "",
        "## At a glance (all figures measured by `benchmarks/finish_story_model.py`)",
        "",
        "| | |",
        "|---|---|",
        f"| architecture | Llama (RMSNorm, RoPE, SwiGLU, tied embeddings), Hugging Face layout |",
        f"| parameters | {f['parameters']:,} |",
        f"| tokenizer | byte-level BPE, {f['vocab_size']:,} tokens (trained on the training split) |",
        f"| context | {f['context']} tokens |",
        f"| weights | `model.safetensors`, {f['weights_dtype']}, {f['weights_bytes'] / 1e6:.1f} MB |",
        f"| optimizer steps | {f['step']:,} (batch {t['batch_size']} x {f['context']} tokens) |",
        f"| tokens seen | {f['tokens_seen']:,} ({f['tokens_seen'] / f['train_tokens']:.2f} epochs "
        f"of the {f['train_tokens']:,} training tokens, {f['train_bytes_per_token']:.2f} "
        f"bytes/token) |",
        f"| training time | {_fmt_time(f['train_wall_seconds'])} wall clock from the start of "
        f"training to this checkpoint (evaluations, checkpoints and restarts included; the "
        f"tokenizer training and encoding before it, a few minutes, not counted) |",
        f"| machine | {f['machine']}, 1 torch thread |",
        f"| average throughput | {f['tokens_seen'] / max(f['train_wall_seconds'], 1):,.0f} "
        f"tokens/s over the whole run (evaluations and other jobs' load included) |",
        f"| train loss | {f['train_loss']:.3f} nats/token (evenly spaced windows of the training split) |",
        f"| held-out loss | {f['heldout_loss']:.3f} nats/token (evenly spaced windows of the held-out works) |",
        f"| held-out bits per byte | **{bpb:.3f}** over {h['bytes']:,} bytes of the 11 held-out "
        f"works ({f['heldout_scored']}; sliding window, stride {f['context'] // 2}) |",
        f"| vs baseline | {vs_base} |",
        f"| vs PPMd | {vs_ppmd} 7-Zip PPMd order 12 (~{f['ppmd_bpb']} bits/byte on these works, having "
        f"seen the training text) |",
        f"| checkpoint | written {f['checkpoint_written']}; measured at repository HEAD {f['git'] or '?'} |",
        "",
        "Bits per byte = total negative log-likelihood of the held-out text in bits divided by "
        "its UTF-8 bytes, so it compares across tokenizers (and with compressors).",
        "",
        "## Data and licence",
        "",
        "Training data: `shared/data/text/stories/` — 164 public-domain works (fairy tales, "
        "children's classics, short stories, a few novels; 54 MiB of UTF-8 text), each traced to "
        "a repository commit in `MANIFEST.tsv`. The 11 works listed in "
        "`splits/val_stories.txt` (3.1 MB, at least one per category) were held out and never "
        "trained on; all figures above marked held-out are on them. The weights are released "
        "under the project's licence; the training texts are public domain in the USA "
        "(published before 1929), and every identified author and translator died before 1955.",
        "",
        "Caveats from the corpus README, carried over:",
        "",
        "* **Jurisdiction.** US status is settled; for life+70 countries a few contributors are "
        "undocumented (Leonora Lang and other helpers of the Lang Fairy Books, Marian Edwardes, "
        "uncredited Andersen and Verne translators, Malleson, Fanny Fuller, Mrs. Bushby). 17 "
        "files (~10.2 MB) carry such a note; drop them and retrain for zero doubt outside the US.",
        "* **Peter Pan (UK).** The UK CDPA 1988 s.301 gives Great Ormond Street Hospital a "
        "perpetual royalty right for commercial publication of *Peter Pan*; two Barrie files "
        "are in the training data.",
        "* Historical copyright notices (all expired) were removed from the texts and recorded "
        "in the manifest.",
        "",
        "## Limitations",
        "",
        "* **Period language and stereotypes.** The texts date from 1719-1924 and contain racial "
        "and ethnic slurs and stereotypes (e.g. *Huckleberry Finn*, some Doyle, Kipling, London, "
        "Burroughs, Baum, Lang, O. Henry, Irving), violence and death (Grimm, Poe, *Dracula*), "
        "and archaic or dialect spelling. The model reproduces them; it has no filter.",
        "* **A tiny model.** About 4 M parameters and a short run on a shared 2-core CPU: "
        "expect locally plausible phrases and names, frequent broken sentences, no coherence "
        "beyond a sentence or two, and no facts. Judge it by the unedited samples below.",
        "* Residual front matter (title pages, contents lists) in the corpus shows up as "
        "occasional headings or lists. English only.",
        "",
        "## Reproduce",
        "",
        "```",
        f["command"],
        "python benchmarks/char_ngram_baseline.py --json benchmarks/results/char5gram_stories.json",
        "python benchmarks/finish_story_model.py",
        "```",
        "",
        _history(f.get("resizes", []), f.get("final_steps", f["step"]), t),
        "",
        "## Samples",
        "",
        "Reverie's generation loop, pure temperature sampling (top-k, top-p and min-p off), "
        f"seed {f['samples'][0]['seed'] if f['samples'] else ''}, up to 100 new tokens. Not "
        "cherry-picked.",
        "",
    ]
    for s in f["samples"]:
        lines += [f"**T = {s['temperature']}** — prompt: *{s['prompt']}*", "",
                  "> " + (s["prompt"] + s["text"]).replace("\n", "\n> "), ""]
    ck.atomic_write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"))
