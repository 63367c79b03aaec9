"""Re-extract monophonic melodies from the corpus inside the ``music21`` package (training only).

Install the optional extra first (``pip install 'reverie[data]'``); the app never imports
this module at run time. Produces the same rows as ``shared/data/music/`` (see its README):
part 0 of each tune, one tune per ABC ``X:`` block, the soprano line of the Bach chorales;
``notes = [[midi pitch | None, duration, offset]]`` in quarter notes, chords reduced to the top
note, ties merged by ``stripTies``.
"""

from __future__ import annotations

from pathlib import Path

COLLECTION_DIRS = {"oneills1850": "oneills1850", "ryansMammoth": "ryansMammoth",
                   "airdsAirs": "airdsAirs", "miscFolk": "miscFolk", "bach": "bach",
                   "essenFolksong": "essenFolksong"}


def _paths(corpus, collection: str) -> list[Path]:
    folder = COLLECTION_DIRS[collection]
    paths = [Path(p) for p in corpus.corpora.CoreCorpus().getPaths()]
    return sorted(p for p in paths if folder in p.parts
                  and (collection != "bach" or p.suffix in (".mxl", ".xml", ".musicxml")))


def _row(score, collection: str, file: str, index: int) -> dict | None:
    from music21 import chord, key as m21key, meter as m21meter, note
    parts = getattr(score, "parts", None)
    part = parts[0] if parts else score
    part = part.stripTies()
    ts = next(iter(part.recurse().getElementsByClass(m21meter.TimeSignature)), None)
    ks = next(iter(part.recurse().getElementsByClass(m21key.KeySignature)), None)
    key_name = None
    if isinstance(ks, m21key.Key):
        key_name = f"{ks.tonic.name} {ks.mode}"
    notes = []
    for el in part.flatten().notesAndRests:
        off, dur = float(el.offset), float(el.quarterLength)
        if dur <= 0:
            continue
        if isinstance(el, chord.Chord):
            notes.append([max(p.midi for p in el.pitches), dur, off])
        elif isinstance(el, note.Note):
            notes.append([el.pitch.midi, dur, off])
        else:
            notes.append([None, dur, off])
    while notes and notes[-1][0] is None:  # leading and trailing rests carry no melody
        notes.pop()
    while notes and notes[0][0] is None:
        notes.pop(0)
    if not notes:
        return None
    try:
        est = score.analyze("key")
        est_key = f"{est.tonic.name} {est.mode}"
    except Exception:  # noqa: BLE001 - analysis fails on odd scores; the field stays empty
        est_key = None
    measures = part.getElementsByClass("Measure")
    pickup = 0.0
    if measures and measures[0].paddingLeft:
        pickup = float(measures[0].barDuration.quarterLength - measures[0].paddingLeft)
    return {"collection": collection, "file": file, "index": index,
            "title": score.metadata.title if score.metadata else None,
            "meter": ts.ratioString if ts else None, "key": key_name,
            "key_sharps": ks.sharps if ks is not None else None, "est_key": est_key,
            "pickup_ql": pickup, "notes": notes}


def extract_collection(corpus, collection: str) -> list[dict]:
    """Rows of one collection (``corpus`` is ``music21.corpus``); unparsable tunes are skipped."""
    from music21 import converter, stream
    rows = []
    for path in _paths(corpus, collection):
        try:
            parsed = converter.parse(str(path))
        except Exception:  # noqa: BLE001 - one bad file must not stop a rebuild
            continue
        scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
        for i, score in enumerate(scores):
            try:
                row = _row(score, collection, path.name, i)
            except Exception:  # noqa: BLE001
                row = None
            if row is not None:
                rows.append(row)
    return rows
