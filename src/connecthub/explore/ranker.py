"""The "For you" ranker: a logistic regression over a handful of features of a (viewer,
post) pair, fitted by full-batch gradient descent in NumPy (no other learning library is a
dependency, and a model of seven weights needs none). It predicts how likely the viewer is
to engage with the post (favourite, boost or reply); the feed is ordered by that.

Every feature is a number the viewer can be told about (`contributions`): the weight times
the standardised value says how much it lifted or lowered the post.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

# The features, in the order of a row. Each is cheap to compute for a few hundred
# candidates on a request and for every training example in a job.
AFFINITY = "author_affinity"  # log(1 + the viewer's recent engagements with the author)
FOLLOWS_AUTHOR = "follows_author"  # 1 when the viewer follows the author
FOLLOWS_OF_FOLLOWS = "follows_of_follows"  # log(1 + the viewer's follows who follow the author)
RECENCY = "recency"  # exp(-age / RECENCY_SCALE)
ENGAGEMENT = "engagement"  # log(1 + favourites + boosts + replies by others)
SIMILARITY = "similarity"  # cosine of the post and what the viewer engaged with
TRENDING = "trending"  # log(1 + the post's trend score)
FEATURES = (AFFINITY, FOLLOWS_AUTHOR, FOLLOWS_OF_FOLLOWS, RECENCY, ENGAGEMENT, SIMILARITY, TRENDING)
RECENCY_SCALE_HOURS = 24.0

# Fitting: L2 penalty, step, and a cap on the passes (the loss is convex; a few hundred
# passes over standardised features settle it).
L2 = 1e-3
LEARNING_RATE = 0.5
EPOCHS = 400


def recency(age_hours: float) -> float:
    return math.exp(-max(age_hours, 0.0) / RECENCY_SCALE_HOURS)


@dataclass(frozen=True)
class Model:
    """Weights over standardised features (`(x - mean) / scale`) and a bias."""

    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    features: tuple[str, ...] = FEATURES

    def logits(self, rows: NDArray[np.float64]) -> NDArray[np.float64]:
        standard = (rows - np.asarray(self.mean)) / np.asarray(self.scale)
        result: NDArray[np.float64] = standard @ np.asarray(self.weights) + self.bias
        return result

    def probabilities(self, rows: NDArray[np.float64]) -> NDArray[np.float64]:
        result: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-self.logits(rows)))
        return result

    def contributions(self, row: NDArray[np.float64]) -> dict[str, float]:
        """Each feature's share of the row's logit (weight times standardised value)."""
        standard = (row - np.asarray(self.mean)) / np.asarray(self.scale)
        parts = standard * np.asarray(self.weights)
        return {name: float(part) for name, part in zip(self.features, parts, strict=True)}

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "weights": list(self.weights),
            "bias": self.bias,
            "mean": list(self.mean),
            "scale": list(self.scale),
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Model | None:
        """The stored model, or None when it was fitted on other features (an older
        release's): the prior serves until the job fits a new one."""
        if tuple(document.get("features", ())) != FEATURES:
            return None
        return cls(
            weights=tuple(float(w) for w in document["weights"]),
            bias=float(document["bias"]),
            mean=tuple(float(m) for m in document["mean"]),
            scale=tuple(float(s) for s in document["scale"]),
        )


# Before the job has fitted anything (a new server, too little engagement): a hand-set
# prior on raw values — people one follows and engages with, recent, popular, similar.
PRIOR = Model(
    weights=(1.0, 1.0, 0.5, 1.0, 0.5, 1.0, 0.3),
    bias=0.0,
    mean=(0.0,) * len(FEATURES),
    scale=(1.0,) * len(FEATURES),
)


def fit(rows: NDArray[np.float64], labels: NDArray[np.float64]) -> Model:
    """A logistic regression of `labels` (1 engaged, 0 not) on `rows`, positives and
    negatives weighted equally whatever their counts."""
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale < 1e-9] = 1.0  # a constant feature: weight stays ~0
    standard = (rows - mean) / scale
    positives = max(float(labels.sum()), 1.0)
    negatives = max(float(len(labels) - labels.sum()), 1.0)
    sample = np.where(labels > 0.5, 0.5 / positives, 0.5 / negatives)
    weights = np.zeros(rows.shape[1])
    bias = 0.0
    for _ in range(EPOCHS):
        predicted = 1.0 / (1.0 + np.exp(-(standard @ weights + bias)))
        error = (predicted - labels) * sample
        weights -= LEARNING_RATE * (standard.T @ error + L2 * weights)
        bias -= LEARNING_RATE * float(error.sum())
    return Model(
        weights=tuple(float(w) for w in weights),
        bias=bias,
        mean=tuple(float(m) for m in mean),
        scale=tuple(float(s) for s in scale),
    )
