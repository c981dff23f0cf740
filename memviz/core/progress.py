"""Progress bars that leave their final state behind: tqdm's text bar, in a terminal as usual, and in a notebook
drawn as one text output updated in place.

tqdm's Jupyter bar is a widget: a saved notebook (or the static site) keeps only its first state as text
("0/40"), since widget state is not saved. :func:`progress_bar` draws tqdm's plain text bar instead, into a
display output it updates in place, so the saved notebook keeps the last state ("40/40 [01:14, 1.9 s/step]").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (IPython with a kernel attached)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class _DisplayFile:
    """A file for tqdm that shows its latest line as a notebook output, replaced at every write."""

    def __init__(self):
        from IPython.display import display

        self._handle = display({"text/plain": ""}, raw=True, display_id=True)

    def write(self, text: str) -> None:
        """Show the last non-empty line tqdm wrote (it redraws with a carriage return)."""
        line = text.replace("\r", "\n").strip().rsplit("\n", 1)[-1]
        if line and self._handle is not None:
            self._handle.update({"text/plain": line}, raw=True)

    def flush(self) -> None:
        """Nothing to flush: every write is shown."""


def progress_bar(iterable: Iterable | None = None, **kwargs: Any):
    """``tqdm.tqdm(iterable, **kwargs)``: in a notebook drawn as text updated in place (its final state stays in the
    saved notebook), elsewhere on stderr as usual."""
    from tqdm import tqdm

    if _in_kernel():
        kwargs.setdefault("mininterval", 0.5)
        kwargs.setdefault("ncols", 100)
        kwargs.setdefault("ascii", False)  # the block characters, as in a terminal
        return tqdm(iterable, file=_DisplayFile(), **kwargs)
    return tqdm(iterable, **kwargs)
