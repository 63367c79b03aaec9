"""``MODEL_CARD.md`` for a LoRA fine-tune, from the run's own progress events.

It says what the adapter was trained on and how long, the held-out bits per byte before the
first step and at the end (measured by the run, not estimated), and the samples the run wrote
before and after, unedited.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from desktop_app.core.atomic import atomic_write_text
from desktop_app.ml.text.lora import TARGETS


def card_text(events: list, *, base_ref: str, data, command, bf16: bool, rank: int,
              alpha: float, context: int, train_bytes: int, heldout_bytes: int,
              blocks: str = "every block", eval_context: int | None = None,
              scored_bytes: int | None = None, lr: float | None = None,
              targets: tuple[str, ...] | None = None, continued: Path | None = None) -> str:
    projections = ("the q/k/v/o and gate/up/down projections"
                   if not targets or set(targets) == set(TARGETS)
                   else "the " + "/".join(targets) + " projections")
    evals = [e for e in events if e.kind == "eval" and e.bits_per_byte is not None]
    samples = [e for e in events if e.kind == "sample"]
    steps = [e for e in events if e.kind == "step"]
    end = next((e for e in reversed(events) if e.kind in ("done", "stopped")), None)
    before = evals[0].bits_per_byte if evals else None
    last = evals[-1] if evals else None
    # the folder holds the adapter of the best evaluation (lora_task.export), not the last
    best = min(evals, key=lambda e: e.bits_per_byte) if evals else None
    rate = steps[-1].tokens_per_s if steps else None
    lines = [
        "---", "kind: text", f"base: {base_ref}", "format: PEFT LoRA adapter", "---", "",
        f"# LoRA adapter for {base_ref}", "",
        "Trained by `reverie train text --lora` on the writer's own text. The base model is "
        "unchanged; this folder holds only the adapters (rank "
        f"{rank}, alpha {alpha:g}, on {projections} of "
        f"{blocks}). Reverie loads it as base + adapter; `peft.PeftModel.from_pretrained(base, "
        "this_folder)` loads it on the same base in transformers.", "",
        f"Licence: that of the base model ({base_ref}) and of your own text.", "",
        f"Attribution: LoRA adapter on {base_ref}, trained on your own text.", "",
        "## Training", "",
        *([f"- continued from the adapter {continued.name} ({continued}): its weights were "
           "the starting point; its own card says what it was trained on"] if continued
          else []),
        f"- text: {', '.join(map(str, data))} ({train_bytes:,} bytes for training, "
        f"{heldout_bytes:,} held out and never trained on)",
        f"- {end.step if end else '?'} step{'' if end and end.step == 1 else 's'} of windows "
        f"of {context} tokens, "
        + (f"peak learning rate {lr:g}, " if lr else "")
        + f"{'bf16' if bf16 else 'float32'} products, "
        f"{(end.elapsed_s or 0) / 60 if end else 0:.1f} min of training"
        + (f", {rate:,.0f} tokens/s at the end" if rate else ""),
        f"- finished {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        + (f"; {end.message}" if end and end.message else ""),
        f"- command: `{shlex.join(str(c) for c in command)}`", "",
        "## Held-out bits per byte (lower is better)", "",
    ]
    if eval_context:
        lines += [f"Scored with a window of {eval_context} tokens, as `reverie eval text` scores "
                  "a file by default.", ""]
    if scored_bytes is not None and scored_bytes < heldout_bytes:
        lines += [f"Each evaluation scored {scored_bytes:,} of the {heldout_bytes:,} held-out "
                  "bytes (the start of every held-out part, whole lines), to keep evaluations "
                  "short.", ""]
    if before is not None:
        change = (best.bits_per_byte - before) / before * 100
        lines += [f"- at the start (the adapter {continued.name}, continued): {before:.4f}"
                  if continued else f"- before fine-tuning (the base): {before:.4f}",
                  f"- after: {best.bits_per_byte:.4f} ({change:+.1f} %), the adapter in this "
                  f"folder (the best evaluation, step {best.step})",
                  f"- at the last evaluation (step {last.step}): {last.bits_per_byte:.4f}", ""]
    else:
        lines += ["- not measured", ""]
    if samples:
        lines += ["## Samples (unedited; the same prompt and seed)", "",
                  f"Before (step {samples[0].step}):", "", "> " + samples[0].sample.replace(
                      "\n", "\n> "), ""]
        if len(samples) > 1:
            # written after the best adapters were put back (see loop._run)
            lines += [f"After (the adapter of step {best.step if best else samples[-1].step}):",
                      "",
                      "> " + samples[-1].sample.replace("\n", "\n> "), ""]
    lines += ["## What so little text can do", "",
              "An adapter trained on a few kilobytes picks up vocabulary, names, spelling and "
              "layout habits; it cannot learn facts or a plot from so little, and trained for "
              "long it starts repeating the text (the run stops early when the held-out score "
              "stops improving).", ""]
    return "\n".join(lines)


def write_card(out: Path, events: list, **kw) -> Path:
    path = Path(out) / "MODEL_CARD.md"
    atomic_write_text(path, card_text(events, **kw))
    return path
