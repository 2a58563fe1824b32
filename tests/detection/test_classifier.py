"""The scorer without the API: the model and the word list, and batches made of the texts
of concurrent jobs (one model call for several texts)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from connecthub.detection import classifier, indonesian, packaged_model
from tests.detection.support import settle_model_load


def test_the_model_scores_english_insults_high_and_plain_text_low() -> None:
    insult, plain = classifier.score_texts(
        ["you are a fucking idiot", "the museum opens a new exhibition on Saturday"]
    )
    assert insult >= 0.9
    assert plain < 0.5


def test_links_and_mentions_are_not_read() -> None:
    assert classifier.clean("see https://shit.example/fuck and @idiot@bad.example") == (
        "see   and  "
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("anjing saya lucu sekali", indonesian.MILD_SCORE),  # "my dog is very cute"
        ("kamu goblok dan tolol", 0.9),
        ("dasar b4ngs4ttt", indonesian.STRONG_SCORE),
        ("selamat pagi semuanya", 0.0),
        ("Asuransi kesehatan", 0.0),  # a word that starts like one on the list
    ],
)
def test_the_indonesian_word_list(text: str, expected: float) -> None:
    assert indonesian.score(text) == expected


async def test_concurrent_texts_are_scored_in_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def model(texts: list[str]) -> list[float]:
        calls.append(list(texts))
        return [0.5 for _ in texts]

    await settle_model_load()
    monkeypatch.setattr(classifier, "_model", model)
    batch = classifier.BatchScorer(batch_size=3, wait_seconds=5)
    # Three at once: the batch is full and goes without waiting its 5 s.
    scores = await asyncio.wait_for(
        asyncio.gather(batch.score("a"), batch.score("b"), batch.score("c")), timeout=2
    )
    assert scores == [0.5, 0.5, 0.5]
    assert calls == [["a", "b", "c"]]

    lone = classifier.BatchScorer(batch_size=64, wait_seconds=0.01)
    assert await asyncio.wait_for(lone.score("alone"), timeout=2) == 0.5
    assert calls[-1] == ["alone"]


async def test_a_failed_batch_fails_every_waiting_job(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(texts: list[str]) -> list[float]:
        raise RuntimeError("model file damaged")

    await settle_model_load()
    monkeypatch.setattr(classifier, "_model", broken)
    batch = classifier.BatchScorer(batch_size=2, wait_seconds=5)
    results = await asyncio.gather(batch.score("a"), batch.score("b"), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)


@pytest.mark.slow
def test_the_probabilities_are_the_models_own() -> None:
    """The linear sum read from the model's parameters (`calibrated_linear`) gives what
    its `predict_proba` gives, on insults, plain text, mixtures and empty texts."""
    import random

    from profanity_check import profanity_check as packaged

    computed = classifier.calibrated_linear(packaged.model)
    assert computed is not None
    words = [
        "you",
        "are",
        "a",
        "stupid",
        "idiot",
        "lovely",
        "day",
        "the",
        "cat",
        "sat",
        "on",
        "the",
        "mat",
        "damn",
        "hell",
        "great",
        "work",
        "shut",
        "up",
        "thanks",
        "kind",
        "worthless",
        "moron",
        "hello",
        "friends",
    ]
    chosen = random.Random(26)
    texts = [
        " ".join(chosen.choice(words) for _ in range(chosen.randint(1, 40))) for _ in range(300)
    ]
    texts += ["", "!!!", "#tag https://example.com/x", "ok " * 500]
    features = packaged.vectorizer.transform(texts)
    expected = packaged.model.predict_proba(features)[:, 1]
    got = computed(features)
    assert len(got) == len(texts)
    assert max(abs(a - b) for a, b in zip(expected, got, strict=True)) < 1e-12
    assert max(got) > 0.9 > min(got)  # both kinds of text are in the corpus


def _scores_as_the_packaged_model(scores: classifier.Model) -> None:
    """`scores` gives what the packaged vectorizer and model give, text by text."""
    import random

    from profanity_check import profanity_check as packaged

    words = ["You", "are", "a", "stupid", "IDIOT", "lovely", "day", "the", "cat", "moron"]
    words += ["shut", "up", "thanks", "kind", "worthless", "hello", "friends", "it's", "don't"]
    words += ["Ünïcode", "straße", "ça", "va", "and", "they", "were", "very", "fucking", "rude"]
    chosen = random.Random(27)
    texts = [
        " ".join(chosen.choice(words) for _ in range(chosen.randint(1, 40))) for _ in range(300)
    ]
    texts += ["", "!!!", "#tag https://example.com/x", "ok " * 500, "idiot idiot idiot cat"]
    texts += ["a_b c1 x y2k THE The the", "don't,stop!believing...idiot\tmoron\nok"]
    expected = packaged.model.predict_proba(packaged.vectorizer.transform(texts))[:, 1]
    got = scores(texts)
    assert len(got) == len(texts)
    assert max(abs(a - b) for a, b in zip(expected, got, strict=True)) < 1e-12
    assert max(got) > 0.9 > min(got)


@pytest.mark.slow
def test_the_direct_scores_are_the_packaged_models_own() -> None:
    """TF-IDF weights read from the vectorizer's vocabulary and IDF, then the linear sum
    (`direct_scores`), give what the packaged vectorizer and model give."""
    from profanity_check import profanity_check as packaged

    direct = classifier.direct_scores(packaged.vectorizer, packaged.model)
    assert direct is not None
    _scores_as_the_packaged_model(direct)


@pytest.mark.slow
def test_the_parameters_read_without_scikit_learn_score_as_the_packaged_model() -> None:
    """The model the classifier loads: the package's files read with stand-ins for
    scikit-learn's classes (detection/packaged_model.py)."""
    vectorizer, model = packaged_model.read_packaged()
    assert type(vectorizer).__module__.startswith("sklearn.")
    assert not hasattr(vectorizer, "transform")  # a stand-in, not scikit-learn's object
    plain = classifier.direct_scores(vectorizer, model)
    assert plain is not None
    _scores_as_the_packaged_model(plain)


@pytest.mark.slow
def test_loading_the_model_imports_neither_scikit_learn_nor_scipy() -> None:
    probe = (
        "import sys\n"
        "from connecthub.detection import classifier\n"
        "assert classifier.score_texts(['you stupid idiot'])[0] > 0.9\n"
        "print(sorted({'sklearn', 'scipy', 'profanity_check'} & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]", done.stderr


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("ngram_range", (1, 2)),
        ("analyzer", "char"),
        ("lowercase", False),
        ("strip_accents", "unicode"),
        ("token_pattern", r"(\w+)"),
    ],
)
def test_vectorizer_settings_the_stand_in_cannot_follow_are_refused(
    setting: str, value: object
) -> None:
    vectorizer, _model = packaged_model.read_packaged()
    setattr(vectorizer, setting, value)
    with pytest.raises(packaged_model.Unsupported):
        classifier.tfidf_weights(vectorizer)


@pytest.mark.slow
def test_the_package_itself_is_loaded_when_its_files_need_scikit_learn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unsupported() -> tuple[object, object]:
        raise packaged_model.Unsupported("a future model")

    monkeypatch.setattr(packaged_model, "read_packaged", unsupported)
    _scores_as_the_packaged_model(classifier._load())


def test_another_kind_of_model_is_asked_for_its_probabilities() -> None:
    class Unknown:
        method = "isotonic"
        calibrated_classifiers_ = [object()]

    assert classifier.calibrated_linear(Unknown()) is None
    assert classifier.calibrated_linear(object()) is None
    assert classifier.tfidf_weights(object()) is None
