"""Helpers for the training tests: a synthetic English-like corpus and a tiny text task."""

from __future__ import annotations

import random
from pathlib import Path

NAMES = ["Anna", "Tom", "the fox", "the old king", "a little bird", "Mother Goose"]
VERBS = ["saw", "found", "lost", "wanted", "carried", "followed"]
THINGS = ["a golden key", "the river", "a red apple", "the dark wood", "a tiny door", "the moon"]
ENDS = [".", "!", ", and then she laughed.", ", but nobody knew why."]


def story(seed: int, sentences: int = 200) -> str:
    rng = random.Random(seed)
    parts = []
    for i in range(sentences):
        s = f"{rng.choice(NAMES)} {rng.choice(VERBS)} {rng.choice(THINGS)}{rng.choice(ENDS)}"
        parts.append(s[0].upper() + s[1:])
        if i % 6 == 5:
            parts.append("\n\n")
    return " ".join(parts)


def write_corpus(folder: Path, n_files: int = 4, sentences: int = 200) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_files):
        (folder / f"story{i}.txt").write_text(story(i, sentences), encoding="utf-8")
    return folder


def make_task(corpus: Path, context: int = 32, vocab: int = 300):
    """A 'test'-size Llama task on the synthetic corpus (BPE trained on the fly, ~0.1 s)."""
    from desktop_app.ml.text.bpe import train_bpe
    from desktop_app.ml.text.train_data import TokenWindows, encode_docs, load_corpus
    from desktop_app.ml.training.text_task import TextTask, llama_config

    c = load_corpus([corpus])
    tok = train_bpe((t for _, t in c.train), vocab)
    train = TokenWindows(encode_docs(tok, c.train), context)
    val = TokenWindows(encode_docs(tok, c.val), context)
    cfg = llama_config("test", tok.get_vocab_size())
    cfg.max_position_embeddings = context
    return TextTask(cfg, tok, train, val, eval_batches=2, eval_batch_size=4,
                    data_fingerprint=c.fingerprint(), sample_tokens=8)
