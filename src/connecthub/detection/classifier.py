"""Offensive-language scores: the model loaded once per process, on first use; texts scored
in batches.

The model is alt-profanity-check's (a linear SVM over a TF-IDF vectorizer, shipped inside
the package). Its parameters are read from the package's files on a job's first text
(detection/packaged_model.py: ~0.4 s, without scikit-learn, which importing the package
pulls in: ~2 s and ~60 MB); the web process never does in distributed mode. Each text's
score is the higher of the model's probability and the Indonesian word list's
(detection/indonesian.py), as the model only knows English.

`BatchScorer` gathers the texts of the jobs running at once in a process: the first to
arrive waits `DETECTION_BATCH_WAIT_MS` (or until `DETECTION_BATCH_SIZE` texts are in) and
one model call, on a worker thread so the event loop keeps serving, scores them all.

The first load (seconds; 16 s on a loaded machine) runs on a daemon thread of its own, not
the event loop's executor: a process that stops meanwhile neither joins it (the loop's
close and the interpreter's exit join executor threads) nor drains the jobs waiting for it
(`jobs.interruptible`: they are given back and run again after the restart).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from connecthub.detection import indonesian
from connecthub.infra.jobs import interruptible

Model = Callable[[Sequence[str]], list[float]]

log = structlog.get_logger(__name__)

_model: Model | None = None
_model_lock = threading.Lock()
_loading: concurrent.futures.Future[Model] | None = None  # the first load, under way or done
_loading_lock = threading.Lock()  # not `_model_lock`: the loading thread holds that one

# Links and mentions say nothing about tone and only add unknown words.
_NOISE = re.compile(r"https?://\S+|@[\w.-]+(?:@[\w.-]+)?")


def _load() -> Model:
    plain = _plain_model()
    if plain is not None:
        return plain
    # Imported here: the package reads its model files when imported.
    from profanity_check import profanity_check as packaged

    vectorizer, model = packaged.vectorizer, packaged.model
    direct = direct_scores(vectorizer, model)
    if direct is not None:
        return direct
    calibrated = calibrated_linear(model)

    def predict(texts: Sequence[str]) -> list[float]:
        features = vectorizer.transform(texts)
        if calibrated is not None:
            return calibrated(features)
        # Column 1 is the offensive class (the package's own predict_prob reads it row by row).
        return [float(p) for p in model.predict_proba(features)[:, 1]]

    return predict


def _plain_model() -> Model | None:
    """`direct_scores` over the packaged files' parameters, read without scikit-learn
    (detection/packaged_model.py); None when they need scikit-learn's code."""
    from connecthub.detection import packaged_model

    try:
        return direct_scores(*packaged_model.read_packaged())
    except packaged_model.Unsupported as exc:
        log.info("detection.model_needs_scikit_learn", reason=str(exc))
        return None


def tfidf_weights(vectorizer: Any) -> Callable[[str], tuple[Any, Any]] | None:
    """A text's TF-IDF features as (feature indices, weights): what the vectorizer's
    `transform` gives for it, computed from its vocabulary and IDF read once. `transform`
    spent ~1 ms per call whatever the number of texts, most of it validating its input
    (docs/benchmarks.md, "The write path, second round"). Only for the settings the
    packaged model uses (word counts, IDF, L2 norm); None for any other."""
    import numpy as np

    if (
        type(vectorizer).__name__ != "TfidfVectorizer"
        or vectorizer.binary
        or vectorizer.sublinear_tf
        or not vectorizer.use_idf
        or vectorizer.norm != "l2"
    ):
        return None
    analyze = vectorizer.build_analyzer()
    vocabulary: dict[str, int] = vectorizer.vocabulary_
    idf = np.asarray(vectorizer.idf_, dtype=np.float64)

    def weights(text: str) -> tuple[Any, Any]:
        counts: dict[int, int] = {}
        for token in analyze(text):
            index = vocabulary.get(token)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        indices = np.fromiter(counts, dtype=np.intp, count=len(counts))
        values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        values *= idf[indices]
        norm = float(np.sqrt(values @ values))
        if norm > 0:
            values /= norm
        return indices, values

    return weights


def direct_scores(vectorizer: Any, model: Any) -> Model | None:
    """The model's probabilities from the texts with neither scikit-learn's vectorizer nor
    its model called: `tfidf_weights`, then `calibrated_linear`'s sum. None when either
    does not apply; tests/detection compares it with the packaged model on a corpus."""
    weights = tfidf_weights(vectorizer)
    parts = _calibrated_parts(model)
    if weights is None or parts is None:
        return None
    import numpy as np

    matrix, intercept, slope, offset = parts

    def predict(texts: Sequence[str]) -> list[float]:
        decisions = np.empty((len(texts), matrix.shape[1]))
        for row, text in enumerate(texts):
            indices, values = weights(text)
            decisions[row] = values @ matrix[indices]
        return _averaged(decisions + intercept, slope, offset)

    return predict


def calibrated_linear(model: Any) -> Callable[[Any], list[float]] | None:
    """The model's probability of the offensive class, computed from its parameters read
    once: the model is scikit-learn's CalibratedClassifierCV over five linear SVMs with
    sigmoid calibration, and its `predict_proba` costs ~3.4 ms per call whatever the number
    of texts (checks and dispatch over the five folds), which was a quarter of the job
    worker's CPU per post (docs/benchmarks.md, "Answers at once"). The same sum: for each
    fold, the sigmoid of the fold's calibration over its decision function (a sparse dot
    product), averaged over the folds. None for any other kind of model (the caller then
    asks `predict_proba`); tests/detection compares both on a corpus."""
    import numpy as np

    parts = _calibrated_parts(model)
    if parts is None:
        return None
    matrix, intercept, slope, offset = parts

    def probabilities(features: Any) -> list[float]:
        decisions = np.asarray(features @ matrix) + intercept  # texts by folds
        return _averaged(decisions, slope, offset)

    return probabilities


def _averaged(decisions: Any, slope: Any, offset: Any) -> list[float]:
    """Each text's probability: the folds' sigmoid calibrations of its decisions, averaged."""
    import numpy as np

    per_fold = 1.0 / (1.0 + np.exp(slope * decisions + offset))
    return [float(p) for p in per_fold.mean(axis=1)]


def _calibrated_parts(model: Any) -> tuple[Any, Any, Any, Any] | None:
    """(features-by-folds weights, intercepts, calibration slopes, offsets), or None."""
    import numpy as np

    folds = getattr(model, "calibrated_classifiers_", None)
    if getattr(model, "method", None) != "sigmoid" or not folds:
        return None
    weights, intercepts, slopes, offsets = [], [], [], []
    for fold in folds:
        estimator = fold.estimator
        coef = getattr(estimator, "coef_", None)
        classes = list(getattr(fold, "classes", getattr(estimator, "classes_", [])))
        calibrators: Sequence[Any] = getattr(fold, "calibrators", ())
        if coef is None or coef.shape[0] != 1 or classes != [0, 1] or len(calibrators) != 1:
            return None
        calibrator = calibrators[0]
        if not hasattr(calibrator, "a_") or not hasattr(calibrator, "b_"):
            return None
        weights.append(np.asarray(coef[0], dtype=np.float64))
        intercepts.append(float(estimator.intercept_[0]))
        slopes.append(float(calibrator.a_))
        offsets.append(float(calibrator.b_))
    matrix = np.column_stack(weights)  # features by folds
    return matrix, np.asarray(intercepts), np.asarray(slopes), np.asarray(offsets)


def model() -> Model:
    """The process' model, loaded by the first caller (others wait for it)."""
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                _model = _load()
    return _model


async def loaded_model() -> Model:
    """The process' model; the first caller starts its load on a daemon thread, and every
    caller waits for it there (a cancelled wait leaves the load running, joined by nobody)."""
    global _loading
    if _model is not None:
        return _model
    with _loading_lock:
        loading = _loading
        if loading is None or (loading.done() and loading.exception() is not None):
            loading = _loading = concurrent.futures.Future()
            loading.set_running_or_notify_cancel()  # a waiter's cancel never cancels the load
            threading.Thread(
                target=_load_into, args=(loading,), name="detection-model-load", daemon=True
            ).start()
    return await asyncio.wrap_future(loading)


def _load_into(loading: concurrent.futures.Future[Model]) -> None:
    try:
        loaded = model()
    except BaseException as exc:  # the next score tries again
        loading.set_exception(exc)
    else:
        loading.set_result(loaded)


def clean(text: str) -> str:
    return _NOISE.sub(" ", text)


def score_texts(texts: Sequence[str]) -> list[float]:
    """Each text's score in [0, 1]: the model's and the word list's, whichever is higher."""
    if not texts:
        return []
    cleaned = [clean(t) for t in texts]
    predicted = model()(cleaned)
    return [max(p, indonesian.score(t)) for p, t in zip(predicted, cleaned, strict=True)]


class BatchScorer:
    """Scores texts for the coroutines of one event loop, in batches."""

    def __init__(self, batch_size: int, wait_seconds: float) -> None:
        self._batch_size = batch_size
        self._wait_seconds = wait_seconds
        self._pending: list[tuple[str, asyncio.Future[float]]] = []
        self._timer: asyncio.TimerHandle | None = None

    async def score(self, text: str) -> float:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[float] = loop.create_future()
        self._pending.append((text, future))
        if len(self._pending) >= self._batch_size:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self._wait_seconds, self._flush)
        if _model is None:  # waits for the first load: a stopping worker need not
            with interruptible():
                return await future
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            asyncio.get_running_loop().create_task(self._run(batch))

    async def _run(self, batch: list[tuple[str, asyncio.Future[float]]]) -> None:
        try:
            await loaded_model()
            scores = await asyncio.to_thread(score_texts, [text for text, _ in batch])
        except Exception as exc:  # every waiting job fails with it (and is retried)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), value in zip(batch, scores, strict=True):
            if not future.done():
                future.set_result(value)


_scorers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BatchScorer] = (
    weakref.WeakKeyDictionary()
)


def scorer(batch_size: int, wait_ms: int) -> BatchScorer:
    """The running loop's batch scorer (futures belong to one loop)."""
    loop = asyncio.get_running_loop()
    found = _scorers.get(loop)
    if found is None:
        found = _scorers[loop] = BatchScorer(batch_size, wait_ms / 1000)
    return found
