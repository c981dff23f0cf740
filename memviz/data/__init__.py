"""The data layer: the task's characters and words, the corpora, text8, datasets, and the article's published data.

``memviz.data`` itself is the task (:mod:`memviz.data.chars` and :mod:`memviz.data.dataset`): encode and decode
characters, where the words are, vocabularies, alignment, chunks, splits and datasets. Its submodules
:mod:`~memviz.data.corpora` (the shipped Austen corpus, normalisation), :mod:`~memviz.data.text8` (the download) and
:mod:`~memviz.data.reference` (the article's numbers) are imported by name. Imports only :mod:`memviz.core`.
"""

from memviz.data.chars import *  # noqa: F403
from memviz.data.chars import __all__ as _chars
from memviz.data.dataset import *  # noqa: F403
from memviz.data.dataset import __all__ as _dataset

__all__ = [*_chars, *_dataset]
