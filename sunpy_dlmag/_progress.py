"""Progress bars for long calls: tqdm, shown only on a terminal."""

import contextlib
import contextvars

from tqdm.auto import tqdm

__all__ = ["progress_bar", "quiet"]

_QUIET = contextvars.ContextVar("sunpy_dlmag_quiet", default=False)


def progress_bar(iterable=None, *, total=None, desc=None, progress=True, unit="it"):
    """
    ``iterable`` wrapped in a tqdm bar, or a bar to ``update`` by hand.

    ``progress=False`` turns it off; so does an output that is not a terminal (tqdm's
    ``disable=None``), so logs stay clean, and so does `quiet`.
    """
    show = progress and not _QUIET.get()
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=None if show else True, leave=False)


@contextlib.contextmanager
def quiet():
    """No progress bars inside (e.g. on batch workers, whose bars would garble the run's own)."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)
