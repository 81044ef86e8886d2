"""
The learned mark classifier: whether a candidate mark of a drawing is a drawn spot, from its
shape, its shape verdict and its neighbours, by a small ensemble of decision trees trained on
real forms labelled by eye (``tools/train_mark_classifier.py``; card: ``mark_classifier.rst``).
"""

import hashlib
import json
from functools import cache
from importlib import resources

import numpy as np

from sunpy_dlmag.exceptions import DlmagError

__all__ = ["FEATURES", "mark_features", "spot_probability", "tree_probability"]

# The shape verdicts the classifier reads (one-hot); "centre line" stays a rejection of the rules.
SHAPE_VERDICTS = ("blob", "streak", "dot", "faint dot", "outlined", "stroke", "stroke piece", "shading")
#: The features of each mark, in the classifier's order: shape (fractions of the disk radius) and
#: context (neighbouring marks within 0.05 radius, distances in radii, log10).
FEATURES = (
    "rho", "width", "length", "stroke", "fill", "depth", "log_area", "elongation",
    "log_nearest", "n_near", "log_nearest_spot", "n_strokes_near",
    *(f"is_{v.replace(' ', '_')}" for v in SHAPE_VERDICTS),
)  # fmt: skip
_NEAR = 0.05
_FILE = "mark_classifier.json"
# sha256 of the shipped file: a changed or damaged file is refused, not used.
_SHA256 = "a398f17528024259914c8de3cbf0601e2c5c9f0bba5944604e8e9ce735a0dd43"


def mark_features(marks, radius):
    """
    The classifier's features of every mark, an (n, len(FEATURES)) array.

    Parameters
    ----------
    marks : mapping or `~astropy.table.QTable`
        Columns ``x``, ``y`` (map pixels), ``rho``, ``width``, ``length``, ``stroke``, ``fill``,
        ``depth``, ``n_pixels`` and ``verdict`` (the shape verdict), as
        `sunpy_dlmag.drawings.spot_candidates` gives them with ``mark_classifier=False``.
    radius : float
        Disk radius in map pixels.
    """

    def column(name):
        values = marks[name]
        return np.asarray(getattr(values, "value", values), dtype=float)

    verdict = np.asarray(marks["verdict"]).astype(str)
    n = len(verdict)
    x, y = column("x") / radius, column("y") / radius
    distance = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    np.fill_diagonal(distance, np.inf)
    distance[:, verdict == "centre line"] = np.inf
    spotlike = np.isin(verdict, ("blob", "streak", "dot", "faint dot", "outlined"))
    width, length = column("width"), column("length")
    features = [
        column("rho"), width, length, column("stroke"), column("fill"), column("depth"),
        np.log10(np.maximum(column("n_pixels"), 1) / radius**2),
        length / np.maximum(width, 1e-6),
        np.log10(np.clip(distance.min(axis=1, initial=np.inf), 1e-3, 1)),
        (distance < _NEAR).sum(axis=1),
        np.log10(np.clip(np.where(spotlike[None, :], distance, np.inf).min(axis=1, initial=np.inf), 1e-3, 1)),
        ((distance < _NEAR) & (verdict == "stroke")[None, :]).sum(axis=1),
        *((verdict == v).astype(float) for v in SHAPE_VERDICTS),
    ]  # fmt: skip
    return np.column_stack(features).reshape(n, len(FEATURES)).astype(float)


@cache
def _model():
    """The shipped trees (JSON), checked against their sha256."""
    raw = resources.files("sunpy_dlmag.drawings").joinpath(_FILE).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != _SHA256:
        raise DlmagError(
            f"The mark classifier {_FILE} of this installation has sha256 {digest}, expected {_SHA256}: "
            "the file was changed or damaged; reinstall sunpy-dlmag, or pass mark_classifier=False."
        )
    model = json.loads(raw)
    if tuple(model["features"]) != FEATURES:
        raise DlmagError(f"The mark classifier {_FILE} was trained on other features than this version computes.")
    return model


def spot_probability(features):
    """The shipped classifier's probability that each mark (a row of `mark_features`) is a drawn spot."""
    return tree_probability(_model(), features)


def tree_probability(model, features):
    """The probability of trees ``model`` (the JSON's content: ``init``, ``learning_rate``, ``trees``) per row."""
    score = np.full(len(features), float(model["init"]))
    rows = np.arange(len(features))
    for tree in model["trees"]:
        feature, threshold, left, right, value = (np.asarray(tree[k]) for k in ("feature", "threshold", "left",
                                                                                  "right", "value"))  # fmt: skip
        node = np.zeros(len(features), dtype=int)
        while True:
            inner = left[node] >= 0
            if not inner.any():
                break
            go_left = features[rows, np.maximum(feature[node], 0)] <= threshold[node]
            node = np.where(inner, np.where(go_left, left[node], right[node]), node)
        score += float(model["learning_rate"]) * value[node]
    return 1 / (1 + np.exp(-score))
