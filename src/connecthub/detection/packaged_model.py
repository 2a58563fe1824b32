"""The packaged model's fitted parameters, read from its files without scikit-learn.

alt-profanity-check ships its vectorizer and model as joblib pickles of scikit-learn
objects; importing the package unpickles them, which imports scikit-learn and SciPy: ~2 s
of CPU and ~60 MB in every process that scores a text (each job worker, each test worker).
Scoring needs none of their code (classifier.direct_scores sums the parameters itself), so
the files are read here with joblib's own reader, each scikit-learn class replaced by a
stand-in that keeps the object's fitted attributes: ~0.4 s with joblib's import, and
neither library loaded. Where a stand-in cannot do what the scorer asks (settings the
packaged model does not use), it says so and the classifier imports the package instead.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from joblib.numpy_pickle import NumpyUnpickler


class Unsupported(Exception):
    """A fitted object's settings need scikit-learn's own code."""


class _Fitted:
    """Stands in for a scikit-learn object: its pickled state as attributes."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class _TfidfVectorizer(_Fitted):
    """What classifier.tfidf_weights asks of a fitted TfidfVectorizer."""

    _tfidf: Any
    analyzer: Any
    input: str
    lowercase: bool
    strip_accents: Any
    preprocessor: Any
    tokenizer: Any
    ngram_range: tuple[int, int]
    token_pattern: str

    @property
    def idf_(self) -> Any:
        return self._tfidf.idf_

    def build_analyzer(self) -> Callable[[str], list[str]]:
        """scikit-learn's word analyzer for these settings: the text lower-cased, then the
        token pattern's matches. Its stop-word filter is left out: the stop words were
        filtered out before the vocabulary was counted, so none is in it and a text's stop
        words weigh nothing either way."""
        settings = (self.analyzer, self.input, self.lowercase, self.strip_accents)
        custom = (self.preprocessor, self.tokenizer)
        if settings != ("word", "content", True, None) or custom != (None, None):
            raise Unsupported(f"analyzer settings {settings}, {custom}")
        if tuple(self.ngram_range) != (1, 1):
            raise Unsupported(f"ngram_range {self.ngram_range}")
        pattern = re.compile(self.token_pattern)
        if pattern.groups:  # scikit-learn then keeps the group, not the match
            raise Unsupported(f"token_pattern {self.token_pattern!r} has a group")
        return lambda text: pattern.findall(text.lower())


_STAND_INS: dict[str, type[_Fitted]] = {"TfidfVectorizer": _TfidfVectorizer}


@functools.cache
def _stand_in(module: str, name: str) -> type[_Fitted]:
    base = _STAND_INS.get(name, _Fitted)
    return type(name, (base,), {"__module__": module, "__qualname__": name})


class _Reader(NumpyUnpickler):  # type: ignore[misc]  # joblib ships no types
    def find_class(self, module: str, name: str) -> Any:
        if module == "sklearn" or module.startswith("sklearn."):
            return _stand_in(module, name)
        return super().find_class(module, name)


def read(path: Path) -> Any:
    """The object pickled in a joblib file, scikit-learn's classes as stand-ins."""
    with path.open("rb") as file:
        return _Reader(str(path), file, None).load()


def data_directory() -> Path:
    """Where alt-profanity-check keeps its files, found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("profanity_check")
    if spec is None or not spec.submodule_search_locations:
        raise Unsupported("alt-profanity-check is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def read_packaged() -> tuple[Any, Any]:
    """The packaged (vectorizer, model), as stand-ins."""
    data = data_directory()
    return read(data / "vectorizer.joblib"), read(data / "model.joblib")
