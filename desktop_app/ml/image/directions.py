"""Named latent directions for an image VAE, computed once after training.

Supervised directions come from labels: for each attribute, the images carrying it are split
into a negative and a positive class (``ATTRIBUTES``), and the direction is either the
difference of the class means of the encoded ``mu`` or the normal of an L2-regularised
logistic probe. Each is then made *conditional* by orthogonalising it against the normals of
class-balanced logistic boundaries fitted to the other attributes (InterFaceGAN: Shen et al.
2020, "Interpreting the latent space of GANs for semantic face editing"), so "older" does not
also change skin tone or smile.
Unsupervised directions are the principal components of ``mu``, by variance.

Every direction is a unit vector with a ``scale``: one standard deviation of the encodings
projected on it (for supervised directions, of the images that carry the attribute's label;
for PCA and class directions, of all images). Stored as ``directions.safetensors`` (one
(D,) tensor each) and ``directions.json`` (name, scale, kind, description, counts).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from desktop_app.core.errors import ModelLoadError
from desktop_app.core.latent import Direction, orthogonalize, pca, unit
from desktop_app.ml import checkpoints as ck

# name -> (label key, negative test, positive test, description)
ATTRIBUTES: dict[str, tuple[str, callable, callable, str]] = {
    "smile": ("smile", lambda v: v <= -0.5, lambda v: v >= 0.5, "frowning -> smiling face"),
    "skin_tone": ("skin_tone", lambda v: v <= 2, lambda v: v >= 4, "lighter -> darker skin"),
    "older": ("older", lambda v: v == 0, lambda v: v == 1, "adult -> older adult"),
    "woman": ("woman", lambda v: v == 0, lambda v: v == 1, "man -> woman"),
    "child": ("age", lambda v: v >= 2, lambda v: v <= 1, "adult -> child or baby"),
    "red_hair": ("hair_red", lambda v: v == 0, lambda v: v == 1, "other hair -> red hair"),
    "curly_hair": ("hair_curly", lambda v: v == 0, lambda v: v == 1, "-> curly hair"),
    "white_hair": ("hair_white", lambda v: v == 0, lambda v: v == 1, "-> white hair"),
    "bald": ("hair_bald", lambda v: v == 0, lambda v: v == 1, "-> bald"),
    "style": ("style", lambda v: v == 0, lambda v: v == 1, "Twemoji -> Noto drawing style"),
}
MIN_PER_CLASS = 5
#: Every supervised direction is orthogonalised against the raw directions of these
#: attributes (except itself and those in RELATED): the independent factors a user expects
#: an edit to keep. Hair and child are narrow subsets; conditioning on them adds noise.
CONDITION_ON = ("smile", "skin_tone", "older", "woman", "style")
#: Attributes measuring the same factor (age): orthogonalising one against the other would
#: remove the very axis both move along.
RELATED = {"older": {"child"}, "child": {"older"}}


@torch.no_grad()
def encode_all(model, pixels: np.ndarray, batch: int = 256) -> np.ndarray:
    """uint8 ``(N, H, W, C)`` -> posterior means ``(N, D)`` float32."""
    out = []
    for i in range(0, len(pixels), batch):
        x = torch.from_numpy(np.ascontiguousarray(pixels[i:i + batch])).permute(0, 3, 1, 2)
        mu, _ = model.encode(x.float() / 255.0)
        out.append(mu.numpy())
    return np.concatenate(out).astype(np.float32)


def binary_classes(labels: dict[str, np.ndarray], name: str) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (negatives, positives) of the images carrying attribute ``name``."""
    key, neg, pos = ATTRIBUTES[name][:3]
    v = labels[key]
    ok = np.isfinite(v)
    return np.flatnonzero(ok & neg(np.nan_to_num(v))), np.flatnonzero(ok & pos(np.nan_to_num(v)))


def logistic_probe(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 50,
                   balanced: bool = False) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method; returns (w, b) in x's space.

    ``balanced`` weighs each class by n / (2 n_class) (scikit-learn's ``class_weight=
    "balanced"``), so 36 "older" people among 2,500 do not pull the boundary onto the
    rare class just because it is rare."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    n, d = x.shape
    sw = np.ones(n)
    if balanced:
        n_pos = max(float(y.sum()), 1.0)
        sw = np.where(y > 0.5, n / (2 * n_pos), n / (2 * max(n - n_pos, 1.0)))
    xa = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(xa @ w, -30, 30)))
        grad = xa.T @ (sw * (p - y)) + reg * w
        hess = (xa * (sw * p * (1 - p))[:, None]).T @ xa + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def raw_direction(mu: np.ndarray, neg: np.ndarray, pos: np.ndarray, method: str) -> np.ndarray:
    if method == "mean":
        return unit(mu[pos].mean(0) - mu[neg].mean(0))
    if method == "probe":
        x = np.concatenate([mu[neg], mu[pos]])
        y = np.concatenate([np.zeros(len(neg)), np.ones(len(pos))])
        w, _ = logistic_probe(x, y)
        return unit(w)
    raise ValueError(f"unknown direction method {method!r}")


def probe_normal(mu: np.ndarray, neg: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Unit normal, in latent space, of a class-balanced logistic boundary fitted on
    standardised encodings (how the quality check's probes see an attribute)."""
    x = np.concatenate([mu[neg], mu[pos]]).astype(np.float64)
    mean, std = x.mean(0), x.std(0) + 1e-6
    y = np.concatenate([np.zeros(len(neg)), np.ones(len(pos))])
    w, _ = logistic_probe((x - mean) / std, y, l2=1.0, balanced=True)
    return unit(w / std)


def compute_directions(mu: np.ndarray, labels: dict[str, np.ndarray], *, method: str = "mean",
                       n_pca: int = 8, all_mu: np.ndarray | None = None
                       ) -> tuple[list[Direction], dict[str, dict]]:
    """Supervised (orthogonalised) + PCA directions from encodings ``mu`` and their labels.

    ``all_mu`` (default ``mu``) sets the scale (std dev of projections) of PCA and class
    directions; supervised ones use the labelled rows of ``mu``.
    """
    all_mu = mu if all_mu is None else all_mu
    raws, info = {}, {}
    for name, (key, *_rest, desc) in ATTRIBUTES.items():
        if key not in labels:
            continue
        neg, pos = binary_classes(labels, name)
        if min(len(neg), len(pos)) < MIN_PER_CLASS:
            continue
        raws[name] = raw_direction(mu, neg, pos, method)
        info[name] = {"label": key, "n_negative": int(len(neg)), "n_positive": int(len(pos)),
                      "method": method, "description": desc}
    # Condition on the normals of boundaries fitted to the other attributes, as InterFaceGAN
    # does, not on their mean differences: a probe for "smile" reads directions the mean
    # difference misses, and conditioned on mean differences an "older" edit still moved half
    # the people across the smile boundary (48 %; 19 % conditioned on the normals).
    normals = {n: probe_normal(mu, *binary_classes(labels, n)) for n in CONDITION_ON
               if n in raws}
    out: list[Direction] = []
    for name, v in raws.items():
        conditioned = [o for o in CONDITION_ON
                       if o in raws and o != name and o not in RELATED.get(name, ())]
        others = [normals[o] for o in conditioned]
        d = orthogonalize(v, others)
        info[name]["cosine_before_orthogonalising"] = float(d @ v)
        # One unit of the slider is one standard deviation among the images that carry the
        # label (faces for smile, portraits for older): flags and food have no smile, and
        # letting them set the unit would make "+2 smile" a barely visible change.
        key = info[name]["label"]
        scale = float(np.std(mu[np.isfinite(labels[key])] @ d))
        info[name]["scale_over"] = f"{int(np.isfinite(labels[key]).sum())} labelled images"
        info[name]["scale_over_all_images"] = float(np.std(all_mu @ d))
        out.append(Direction(name, d.astype(np.float32), scale, "supervised",
                             info[name]["description"]))
    out += _class_directions(mu, labels, all_mu, method, info,
                             {a[0] for a in ATTRIBUTES.values()})
    comps, std, _ = pca(all_mu, n_pca)
    for i, (c, s) in enumerate(zip(comps, std)):
        name = f"pc{i + 1}"
        out.append(Direction(name, c.astype(np.float32), float(s), "pca",
                             f"principal component {i + 1} of the encoded data"))
        info[name] = {"method": "pca", "description": out[-1].description}
    return out, info


def _class_directions(mu, labels, all_mu, method, info, known) -> list[Direction]:
    """One-vs-rest directions for other 0/1 labels (e.g. Fashion-MNIST's ``is_trouser``).

    Classes exclude each other, so these are not orthogonalised against one another."""
    out = []
    for key, v in labels.items():
        ok = np.isfinite(v)
        if key in known or not ok.any() or not set(np.unique(v[ok])) <= {0.0, 1.0}:
            continue
        neg, pos = np.flatnonzero(ok & (v == 0)), np.flatnonzero(ok & (v == 1))
        if min(len(neg), len(pos)) < MIN_PER_CLASS:
            continue
        name = key[3:] if key.startswith("is_") else key
        d = raw_direction(mu, neg, pos, method)
        desc = f"towards {name.replace('_', ' ')} (one-vs-rest)"
        info[name] = {"label": key, "n_negative": int(len(neg)), "n_positive": int(len(pos)),
                      "method": method, "description": desc}
        out.append(Direction(name, d.astype(np.float32), float(np.std(all_mu @ d)), "class",
                             desc))
    return out


def save_directions(out_dir: str | Path, directions: list[Direction],
                    info: dict[str, dict] | None = None) -> None:
    out_dir = Path(out_dir)
    ck.save_tensors(out_dir / "directions.safetensors",
                    {d.name: torch.from_numpy(np.asarray(d.vector, np.float32))
                     for d in directions})
    ck.save_json(out_dir / "directions.json", {"directions": [
        {"name": d.name, "scale": d.scale, "kind": d.kind, "description": d.description,
         **(info or {}).get(d.name, {})} for d in directions]})


def load_directions(model_dir: str | Path) -> dict[str, Direction]:
    """Directions of a model folder ({} when it has none)."""
    model_dir = Path(model_dir)
    if not (model_dir / "directions.json").is_file():
        return {}
    meta = ck.load_json(model_dir / "directions.json")
    tensors = ck.load_tensors(model_dir / "directions.safetensors")
    out = {}
    for row in meta.get("directions", []):
        name = row.get("name")
        if name not in tensors:
            raise ModelLoadError(f"{model_dir / 'directions.safetensors'} has no tensor {name!r}")
        out[name] = Direction(name, tensors[name].float().numpy(), float(row["scale"]),
                              row.get("kind", "supervised"), row.get("description", ""))
    return out
