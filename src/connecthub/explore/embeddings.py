"""Sentence embeddings of what people post, from the small static-embedding model that
ships inside the `wordllama` package (256 dimensions; nothing is downloaded: the package's
own weights and tokenizer are opened by path, as its loader would look for them under a
directory name it does not use). Loaded once per process, on first use, in a worker
thread; embedding is a tokenizer pass and an average of word vectors, so a batch of
thousands of posts takes a fraction of a second.

It is an English-trained model: posts in other languages (Indonesian among them) embed
less well, which only weakens the "similar accounts" signal for them (docs/explore.md).
"""

from __future__ import annotations

import threading
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

DIMENSIONS = 256
_lock = threading.Lock()
_model: object | None = None


def _load() -> object:
    from safetensors import safe_open
    from wordllama import WordLlama
    from wordllama.inference import WordLlamaInference

    root = resources.files("wordllama")
    tokenizer = WordLlama.load_tokenizer(root / "tokenizers" / "l2_supercat_tokenizer_config.json")
    weights = str(root / "weights" / "l2_supercat_256.safetensors")
    with safe_open(weights, framework="np", device="cpu") as tensors:
        table = tensors.get_tensor("embedding.weight")
    return WordLlamaInference(table, tokenizer, binary=False)


def _instance() -> object:
    global _model
    with _lock:
        if _model is None:
            _model = _load()
        return _model


def embed(texts: list[str]) -> NDArray[np.float32]:
    """One unit-length vector per text (blocking: call it in a thread)."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    vectors = np.asarray(_instance().embed(texts), dtype=np.float32)  # type: ignore[attr-defined]
    return normalized(vectors)


def normalized(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    norms: NDArray[np.float32] = np.linalg.norm(vectors, axis=-1, keepdims=True)
    unit: NDArray[np.float32] = (vectors / np.maximum(norms, 1e-9)).astype(np.float32)
    return unit


def to_bytes(vector: NDArray[np.float32]) -> bytes:
    return vector.astype("<f4").tobytes()


def from_bytes(raw: bytes) -> NDArray[np.float32]:
    return np.frombuffer(raw, dtype=np.float32)
