"""The music medium's :class:`~desktop_app.ml.training.loop.TrainTask`\\ s.

``MelodyLMTask`` trains :class:`MelodyTransformer` on tune token sequences: each training row
is the tune's three conditioning tokens (BOS, meter, mode) followed by a window of the tune
starting on a bar line, so long tunes are seen in full across steps without losing their
meter and mode. ``PhraseVAETask`` trains :class:`PhraseVAE` on 2-bar grid phrases with a
linearly annealed KL weight (Bowman et al. 2016) and free bits.

``export`` writes the model folder: config.json + model.safetensors (never pickle).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from desktop_app.ml import checkpoints as ck
from desktop_app.ml.music import tokens as T
from desktop_app.ml.music.melody_transformer import MelodyTransformer, MelodyTransformerConfig
from desktop_app.ml.music.phrase_vae import PhraseVAE, PhraseVAEConfig, vae_loss


def _fingerprint(seqs) -> str:
    h = hashlib.sha256()
    for s in seqs:
        h.update(bytes(str(list(s)), "ascii"))
    return h.hexdigest()[:16]


class MelodyLMTask:
    def __init__(self, config: MelodyTransformerConfig, train_seqs: list[list[int]],
                 held_seqs: list[list[int]], *, eval_batch_size: int = 32,
                 meta: dict | None = None) -> None:
        self.config = config
        self.train_seqs = [torch.tensor(s, dtype=torch.long) for s in train_seqs]
        self.bar_starts = [torch.nonzero(s == T.BAR).flatten() for s in self.train_seqs]
        self.held = [torch.tensor(s[: config.block_size + 1], dtype=torch.long)
                     for s in held_seqs]
        self.eval_batch_size = eval_batch_size
        self.meta = meta or {}
        self._fp = _fingerprint(train_seqs[:200])

    def identity(self) -> dict:
        return {"kind": "music-transformer", "model": self.config.to_dict(), "data": self._fp,
                "n_train": len(self.train_seqs)}

    def build_model(self) -> nn.Module:
        return MelodyTransformer(self.config)

    def _row(self, i: int, gen: torch.Generator) -> tuple[torch.Tensor, int]:
        """(prefix + window of tune ``i`` starting on a bar line, bars before the window)."""
        seq, need = self.train_seqs[i], self.config.block_size + 1
        if len(seq) <= need:
            return seq, 0
        bars = self.bar_starts[i]
        k = int(torch.randint(int((bars <= len(seq) - need + 3).sum()), (1,), generator=gen))
        j = int(bars[k])
        return torch.cat([seq[:3], seq[j: j + need - 3]]), k

    def _pad(self, rows: list[torch.Tensor], offsets: list[int] | None = None):
        n = max(len(r) for r in rows)
        buf = torch.full((len(rows), n), T.PAD, dtype=torch.long)
        for k, r in enumerate(rows):
            buf[k, : len(r)] = r
        x, y = buf[:, :-1].clone(), buf[:, 1:].clone()
        y[y == T.PAD] = -1
        return x, y, torch.tensor(offsets or [0] * len(rows), dtype=torch.long)

    def train_batch(self, gen, batch_size, part, nparts):
        idx = torch.randint(len(self.train_seqs), (batch_size,), generator=gen).tolist()
        rows, offsets = zip(*(self._row(i, gen) for i in idx))
        return self._pad(list(rows[part::nparts]), list(offsets[part::nparts]))

    def loss(self, model, batch):
        x, y, bar_offset = batch
        logits = model(x, bar_offset)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                               ignore_index=-1)

    def batch_units(self, batch) -> int:
        return int((batch[1] >= 0).sum())

    def eval_batches(self):
        b = self.eval_batch_size
        return [self._pad(self.held[i: i + b]) for i in range(0, len(self.held), b)]

    def sample(self, model, step):
        from desktop_app.ml.music.generate import sample_tokens
        toks = sample_tokens(model, meter="4/4", mode="major", bars=2, seed=step)
        return " ".join(T.token_name(t) for t in toks[3:])

    def export(self, model, out_dir: Path) -> None:
        out_dir = Path(out_dir)
        scheme = ("pitch-duration-bar-copy-v2" if self.config.vocab_size > T.COPY_BASE
                  else "pitch-duration-bar-v1")
        cfg = {**self.config.to_dict(), "kind": "music", "tokens": scheme,
               "meters": list(T.METERS), "modes": list(T.MODES), **self.meta}
        ck.save_json(out_dir / "config.json", cfg)
        ck.save_tensors(out_dir / "model.safetensors", model.state_for_saving(),
                        {"format": "pt"})


class PhraseVAETask:
    def __init__(self, config: PhraseVAEConfig, train_phrases: torch.Tensor,
                 held_phrases: torch.Tensor, *, kl_warmup: int = 2000,
                 eval_batch_size: int = 256, meta: dict | None = None) -> None:
        self.config = config
        self.train_phrases, self.held = train_phrases, held_phrases   # (N, steps) int64
        self.kl_warmup = kl_warmup
        self.eval_batch_size = eval_batch_size
        self.meta = meta or {}
        self.step = 0
        self._fp = hashlib.sha256(train_phrases[:500].numpy().tobytes()).hexdigest()[:16]

    def identity(self) -> dict:
        return {"kind": "music-phrase-vae", "model": self.config.to_dict(), "data": self._fp,
                "kl_warmup": self.kl_warmup}

    def build_model(self) -> nn.Module:
        return PhraseVAE(self.config)

    def train_batch(self, gen, batch_size, part, nparts):
        idx = torch.randint(len(self.train_phrases), (batch_size,), generator=gen)
        self.step += 1
        return self.train_phrases[idx[part::nparts]]

    def loss(self, model, batch):
        beta = self.config.beta if not model.training else \
            self.config.beta * min(1.0, self.step / max(self.kl_warmup, 1))
        return vae_loss(model, batch, beta, self.config.free_bits)[0]

    def batch_units(self, batch) -> int:
        return int(batch.numel())

    def eval_batches(self):
        b = self.eval_batch_size
        return [self.held[i: i + b] for i in range(0, len(self.held), b)]

    def sample(self, model, step):
        return None

    def export(self, model, out_dir: Path) -> None:
        out_dir = Path(out_dir)
        ck.save_json(out_dir / "config.json", {**self.config.to_dict(), "kind": "music",
                                               **self.meta})
        ck.save_tensors(out_dir / "model.safetensors", model.state_dict(), {"format": "pt"})


def corpus_tunes(collections=None, midi_dir: Path | None = None) -> tuple[list[dict], str]:
    """(tunes, description) from the corpus collections or a folder of MIDI files."""
    from desktop_app.ml.music import data as D
    if midi_dir is not None:
        skipped: list[str] = []
        tunes = D.midi_folder_tunes(midi_dir, skipped)
        desc = f"{len(tunes)} MIDI files from {midi_dir}"
        if skipped:  # say which files were left out and why, instead of aborting the run
            desc += f" (skipped {len(skipped)}: " + "; ".join(skipped[:3]) + \
                ("; ..." if len(skipped) > 3 else "") + ")"
    else:
        collections = tuple(collections or D.PUBLIC_DOMAIN)
        tunes = D.load_tunes(collections)
        desc = f"music21 corpus collections {', '.join(collections)}"
    return tunes, desc


def tune_sequences(tunes: list[dict]) -> tuple[list[list[int]], list[list[int]]]:
    """(training token sequences, held-out sequences) of ``tunes`` (the fixed 5 % split)."""
    from desktop_app.ml.music import data as D
    train, held = D.split(tunes)
    enc = lambda ts: [s for s in (D.tune_tokens(t) for t in ts) if s is not None]  # noqa: E731
    return enc(train), enc(held)


def phrase_tensor(seqs: list[list[int]], max_steps: int, hop_bars: int) -> torch.Tensor:
    """2-bar grid phrases (N, max_steps) of token sequences, transposed nowhere (tonic-relative)."""
    from desktop_app.ml.music import phrase_vae as V
    rows = []
    for s in seqs:
        meter, _, events = T.decode_events(s)
        bar_steps = int(T.Fraction(meter.split("/")[0]) * 16 / int(meter.split("/")[1]))
        rows += V.phrases_from_grid(V.events_to_grid(events), bar_steps, hop_bars, max_steps)
    return torch.tensor(rows, dtype=torch.long).reshape(-1, max_steps)
