"""Melody data: the shared extraction of the music21 corpus, the held-out split, and converters.

``$REVERIE_SHARED_DIR`` (default ``<repo>/../shared``) holds ``data/music/melodies_*.jsonl.gz``
(one tune per line: meter, key, est_key, pickup_ql and ``notes = [[pitch|null, dur, offset]]``).
Shipped models train only on the public-domain collections in :data:`PUBLIC_DOMAIN`; the Essen
collection is for experiments only. A fixed 5% of tunes (chosen by a hash of their source
file and index, so it never changes) is held out.

:func:`rebuild_from_music21` re-creates the files from the ``music21`` package (training-only
extra ``pip install reverie[data]``; the app never imports music21).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from fractions import Fraction
from pathlib import Path

from desktop_app.core.errors import DataError
from desktop_app.core.melody import Key, Melody, Meter, Note
from desktop_app.ml.music import tokens as T

PUBLIC_DOMAIN = ("oneills1850", "ryansMammoth", "airdsAirs", "miscFolk", "bach")
NON_COMMERCIAL = ("essenFolksong",)
HOLDOUT_PERCENT = 5


def shared_dir() -> Path:
    env = os.environ.get("REVERIE_SHARED_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3].parent / "shared"


def music_data_dir() -> Path:
    return shared_dir() / "data" / "music"


def is_holdout(tune: dict) -> bool:
    h = hashlib.sha1(f"{tune['collection']}/{tune['file']}/{tune['index']}".encode()).digest()
    return int.from_bytes(h[:4], "big") % 100 < HOLDOUT_PERCENT


def load_tunes(collections=PUBLIC_DOMAIN, data_dir: Path | None = None) -> list[dict]:
    data_dir = data_dir or music_data_dir()
    tunes = []
    for c in collections:
        path = data_dir / f"melodies_{c}.jsonl.gz"
        if not path.is_file():
            raise DataError(f"missing melody data {path}; set REVERIE_SHARED_DIR or rebuild it "
                            f"with `rebuild_from_music21`")
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            tunes.extend(json.loads(line) for line in fh if line.strip())
    return tunes


def split(tunes: list[dict]) -> tuple[list[dict], list[dict]]:
    train = [t for t in tunes if not is_holdout(t)]
    held = [t for t in tunes if is_holdout(t)]
    return train, held


def tune_key(tune: dict) -> Key | None:
    """The source's key field (modes included), else the Krumhansl estimate."""
    for field in ("key", "est_key"):
        text = (tune.get(field) or "").replace("-", "b")
        parts = text.split()
        if len(parts) == 2:
            try:
                return Key.parse(text)
            except Exception:
                continue
    return None


def _q(x: float) -> Fraction:
    return Fraction(x).limit_denominator(48)


def tune_events(tune: dict) -> list[tuple[int | None, Fraction]]:
    """Absolute pitches + durations from the first downbeat (pickup dropped, gaps as rests)."""
    start = _q(tune.get("pickup_ql") or 0)
    notes = sorted(((_q(off), p, _q(d)) for p, d, off in tune["notes"]), key=lambda n: n[0])
    events, now = [], start
    for i, (off, pitch, dur) in enumerate(notes):
        end = off + dur
        if i + 1 < len(notes):
            end = min(end, notes[i + 1][0])
        if end <= now:
            continue
        if off > now:
            events.append((None, off - now))
            now = off
        events.append((pitch, end - now))
        now = end
    return events


def tune_tokens(tune: dict) -> list[int] | None:
    """Token ids of a tune, or None when its meter, key, pitches or durations do not fit."""
    key, meter = tune_key(tune), tune.get("meter")
    if key is None or meter not in T.METERS:
        return None
    base = 60 + key.tonic
    ev = [(None if p is None else p - base, d) for p, d in tune_events(tune)]
    try:
        toks = T.encode_events(ev, meter, key.mode)
    except ValueError:
        return None
    return toks if toks.count(T.BAR) >= 2 else None


def tune_melody(tune: dict) -> Melody | None:
    """A held-out tune as a Melody (same pickup/bar treatment as its tokens)."""
    toks = tune_tokens(tune)
    if toks is None:
        return None
    return tokens_to_melody(toks, tune_key(tune), tempo=120.0, title=tune.get("title") or "")


def tokens_to_melody(toks, key: Key, tempo: float = 120.0, title: str = "",
                     velocity: int = 90) -> Melody:
    meter, _, events = T.decode_events(toks)
    base, now, notes = 60 + key.tonic, Fraction(0), []
    for rel, dur in events:
        if rel is not None and 0 <= base + rel <= 127:
            notes.append(Note(start=float(now), pitch=base + rel, duration=float(dur),
                              velocity=velocity))
        now += dur
    return Melody(notes=tuple(notes), key=key, meter=Meter.parse(meter or "4/4"), tempo=tempo,
                  title=title)


def melody_events(melody: Melody) -> list[tuple[int | None, Fraction]]:
    """Relative-to-tonic events of a Melody (gaps become rests, overlaps are cut)."""
    base, now, out = 60 + melody.key.tonic, Fraction(0), []
    notes = melody.notes
    for i, n in enumerate(notes):
        s, e = _q(n.start), _q(n.end)
        if i + 1 < len(notes):
            e = min(e, _q(notes[i + 1].start))
        if e <= now:
            continue
        if s > now:
            out.append((None, s - now))
        rel = min(max(n.pitch - base, T.PITCH_LOW), T.PITCH_HIGH)
        out.append((rel, e - max(s, now)))
        now = e
    return out


def melody_tune(melody: Melody, name: str, index: int = 0) -> dict:
    """A Melody as a corpus-style tune dict (so user MIDI files train like the corpus)."""
    return {"collection": "user", "file": name, "index": index, "title": melody.title,
            "meter": str(melody.meter), "key": melody.key.name, "pickup_ql": 0.0,
            "notes": [[n.pitch, n.duration, n.start] for n in melody.notes]}


def midi_folder_tunes(folder: Path, skipped: list[str] | None = None) -> list[dict]:
    """Every readable ``*.mid``/``*.midi`` under ``folder`` as a tune; an unreadable or
    oversized file is skipped, with "name: reason" appended to ``skipped`` when given."""
    from desktop_app.core.midi import read_midi
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    if not files:
        raise DataError(f"no MIDI files (*.mid, *.midi) in {folder}")
    tunes = []
    for i, f in enumerate(files):
        try:
            tunes.append(melody_tune(read_midi(f), str(f.relative_to(folder)), i))
        except DataError as exc:
            if skipped is not None:
                skipped.append(f"{f.relative_to(folder)}: {exc}")
            continue
    if not tunes:
        raise DataError(f"none of the {len(files)} MIDI files in {folder} could be read")
    return tunes


def rebuild_from_music21(out_dir: Path, collections=PUBLIC_DOMAIN) -> dict[str, int]:
    """Re-extract the melodies from the music21 corpus into ``out_dir`` (training-only)."""
    try:
        from music21 import corpus  # noqa: PLC0415 - optional extra, never at app run time
    except ImportError:
        raise DataError("rebuilding the melody data needs the optional extra: "
                        "pip install 'reverie[data]'") from None
    from desktop_app.ml.music.music21_extract import extract_collection
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for c in collections:
        rows = extract_collection(corpus, c)
        with gzip.open(out_dir / f"melodies_{c}.jsonl.gz", "wt", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
        counts[c] = len(rows)
    return counts
