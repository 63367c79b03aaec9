"""Rebuild a GGUF model's tokenizer from its metadata with the `tokenizers` library.

A GGUF file has no ``tokenizer.json``: it stores the vocabulary (``tokenizer.ggml.tokens``),
token types, BPE merges or SentencePiece scores and the special token ids under llama.cpp's key
names. Two vocabulary kinds are rebuilt:

- ``gpt2``: byte-level BPE. The pre-tokenizer (how text is split before merging) comes from
  ``tokenizer.ggml.pre``, following llama.cpp's ``llama-vocab.cpp`` regexes: ``default`` and
  ``gpt-2`` (GPT-2's split), ``llama-bpe``/``llama3`` (Llama 3), ``qwen2``, ``smollm`` (digits
  one by one, then GPT-2's split: the split SmolLM2's own ``tokenizer.json`` uses; transformers'
  GGUF conversion leaves the digit split out). An unknown ``pre`` is refused by name, since
  splitting differently from training silently degrades the model.
- ``llama``: SentencePiece BPE with byte fallback; merges recovered from the scores (as
  transformers' ``generate_merges`` does), ``▁`` prepended to the first word.

Tokens of type CONTROL (3) become special added tokens, USER_DEFINED (4) plain added tokens,
so ``<|im_start|>`` stays whole. Reference: transformers ``integrations/gguf/
gguf_tokenizer_mapping.py`` (which the tests compare with).
"""

from __future__ import annotations

from functools import lru_cache

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

from desktop_app.core.errors import ModelLoadError
from desktop_app.ml.text.gguf_file import GGUFFile
from desktop_app.ml.text.tokenizer import TextTokenizer

_GPT2_SPLIT = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
_LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def _split(regex: str):
    return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(regex), behavior="isolated"),
                                    pre_tokenizers.ByteLevel(add_prefix_space=False,
                                                             use_regex=False)])


def _gpt2():
    return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)


def _smollm():
    return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), _gpt2()])


#: tokenizer.ggml.pre -> pre-tokenizer factory
PRE_TOKENIZERS = {
    "default": _gpt2, "gpt-2": _gpt2, "gpt2": _gpt2,
    "llama-bpe": lambda: _split(_LLAMA3_SPLIT), "llama3": lambda: _split(_LLAMA3_SPLIT),
    "llama-v3": lambda: _split(_LLAMA3_SPLIT), "smaug-bpe": lambda: _split(_LLAMA3_SPLIT),
    "qwen2": lambda: _split(_QWEN2_SPLIT), "deepseek-r1-qwen": lambda: _split(_QWEN2_SPLIT),
    "smollm": _smollm,
}
CONTROL, USER_DEFINED = 3, 4


@lru_cache(maxsize=1)
def _byte_alphabet() -> dict[int, str]:
    """GPT-2's byte -> printable character table (``bytes_to_unicode``)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


#: the last file's tokenizer: (path, size, mtime) -> (tokenizer, chat template)
_LAST: dict[tuple, tuple[TextTokenizer, str | None]] = {}


def tokenizer_from_gguf(gf) -> tuple[TextTokenizer, str | None]:
    """(tokenizer, chat template) of a :class:`~desktop_app.ml.text.gguf_file.GGUFFile`,
    built once per file: tokenizers' BPE constructor is Rust code that holds the GIL for
    37 ms on SmolLM2's 49k-token vocabulary (the largest stall of the window while that model
    loads), so the engine's warm-up builds the writing model's ahead (:func:`prepare`)."""
    try:
        st = gf.path.stat()
        key = (str(gf.path.resolve()), st.st_size, st.st_mtime_ns)
    except OSError:
        key = None
    if key is not None and key in _LAST:
        return _LAST[key]
    built = _build(gf)
    if key is not None:
        _LAST.clear()
        _LAST[key] = built
    return built


def prepare(path) -> None:
    """Build the tokenizer of the GGUF file ``path`` now (the engine's warm-up, while the
    window is idle), so that loading the model later reuses it. Any failure is left to
    that load to report."""
    try:
        tokenizer_from_gguf(GGUFFile(path))
    except Exception:  # noqa: BLE001 - the model's own load says what is wrong, once
        pass


def _build(gf) -> tuple[TextTokenizer, str | None]:
    name = gf.path.name
    kind = gf.field("tokenizer.ggml.model")
    tokens = gf.field("tokenizer.ggml.tokens")
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise ModelLoadError(f"{name} has no readable tokenizer.ggml.tokens")
    types = gf.field("tokenizer.ggml.token_type") or []
    if kind == "gpt2":
        merges = gf.field("tokenizer.ggml.merges")
        if not isinstance(merges, list):
            raise ModelLoadError(f"{name} lacks the metadata key 'tokenizer.ggml.merges' that "
                                 f"its byte-level BPE vocabulary needs")
        pre = gf.field("tokenizer.ggml.pre", "default")
        if pre not in PRE_TOKENIZERS:
            raise ModelLoadError(f"{name} asks for the pre-tokenizer {pre!r}, which Reverie does "
                                 f"not know; supported: {', '.join(sorted(PRE_TOKENIZERS))}")
        tok = _byte_level(tokens, merges, name)
        tok.pre_tokenizer = PRE_TOKENIZERS[pre]()
        default_bos = False
    elif kind == "llama":
        scores = gf.field("tokenizer.ggml.scores")
        if not isinstance(scores, list) or len(scores) != len(tokens):
            raise ModelLoadError(f"{name} lacks the metadata key 'tokenizer.ggml.scores' that "
                                 f"its SentencePiece vocabulary needs")
        tok = _sentencepiece(tokens, scores, gf.field("tokenizer.ggml.merges"), name)
        default_bos = True  # llama.cpp adds BOS to a SentencePiece vocabulary unless told not to
    else:
        raise ModelLoadError(f"{name} has a tokenizer of kind {kind!r}; Reverie rebuilds "
                             f"'gpt2' (byte-level BPE) and 'llama' (SentencePiece) vocabularies")
    _add_special(tok, tokens, types, byte_level=kind == "gpt2")

    def token(key: str) -> str | None:
        i = gf.field(f"tokenizer.ggml.{key}")
        return tokens[i] if isinstance(i, int) and 0 <= i < len(tokens) else None

    add_bos = gf.field("tokenizer.ggml.add_bos_token", default_bos)
    text_tok = TextTokenizer(tok, bos_token=token("bos_token_id"), eos_token=token("eos_token_id"),
                             add_bos=bool(add_bos))
    text_tok.special_tokens = {k: v for k, key in (("bos_token", "bos_token_id"),
                                                    ("eos_token", "eos_token_id"),
                                                    ("unk_token", "unknown_token_id"),
                                                    ("pad_token", "padding_token_id"))
                               if (v := token(key)) is not None}
    template = gf.field("tokenizer.chat_template")
    return text_tok, template if isinstance(template, str) else None


def _byte_level(tokens: list[str], merges: list, name: str) -> Tokenizer:
    alphabet = _byte_alphabet()
    chars = set(alphabet.values())
    vocab: dict[str, int] = {}
    for i, t in enumerate(tokens):
        key = t if set(t) <= chars else "".join(alphabet[b] for b in t.encode("utf-8"))
        vocab.setdefault(key, i)
    pairs = []
    for m in merges:
        parts = m.split(" ") if isinstance(m, str) else []
        if len(parts) != 2:
            raise ModelLoadError(f"{name} has a malformed merge {str(m)[:40]!r}")
        pairs.append((parts[0], parts[1]))
    try:
        bpe = models.BPE(vocab=vocab, merges=pairs, fuse_unk=False)
    except Exception as exc:  # a merge naming a token outside the vocabulary
        raise ModelLoadError(f"{name} has an inconsistent BPE vocabulary: {exc}") from None
    tok = Tokenizer(bpe)
    tok.decoder = decoders.ByteLevel()
    return tok


def _sentencepiece(tokens: list[str], scores: list, merges, name: str) -> Tokenizer:
    vocab = {}
    for i, t in enumerate(tokens):
        vocab.setdefault(t, i)
    if isinstance(merges, list) and merges:
        pairs = [tuple(m.split(" ", 1)) for m in merges if isinstance(m, str) and " " in m]
    else:
        pairs = _merges_from_scores(vocab, dict(zip(tokens, scores)))
    try:
        bpe = models.BPE(vocab=vocab, merges=pairs, fuse_unk=True, byte_fallback=True,
                         unk_token=tokens[0] if tokens else None)
    except Exception as exc:
        raise ModelLoadError(f"{name} has an inconsistent SentencePiece vocabulary: {exc}") from None
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first",
                                                 split=False)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(),
                                     decoders.Fuse(), decoders.Strip(content=" ", left=1)])
    return tok


def _merges_from_scores(vocab: dict[str, int], scores: dict[str, float]) -> list[tuple[str, str]]:
    """SentencePiece merges: every split of a token into two tokens, best-scored first."""
    merges = []
    for merged, score in scores.items():
        local = [(merged[:i], merged[i:], score) for i in range(1, len(merged))
                 if merged[:i] in vocab and merged[i:] in vocab]
        local.sort(key=lambda x: (vocab[x[0]], vocab[x[1]]))
        merges.extend(local)
    merges.sort(key=lambda v: (v[2], len(v[0]), len(v[1])), reverse=True)
    return [(a, b) for a, b, _ in merges]


def _add_special(tok: Tokenizer, tokens: list[str], types: list, *, byte_level: bool) -> None:
    chars = set(_byte_alphabet().values()) if byte_level else None
    special, user = [], []
    for t, kind in zip(tokens, types):
        if kind == CONTROL and (chars is None or set(t) <= chars):
            special.append(AddedToken(t, normalized=False, special=True))
        elif kind == USER_DEFINED:
            user.append(AddedToken(t, normalized=False, special=False))
    if special:
        tok.add_special_tokens(special)
    if user:
        tok.add_tokens(user)
