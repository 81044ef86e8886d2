"""Progress bars for long calls: tqdm, shown only on a terminal."""

from tqdm.auto import tqdm

__all__ = ["progress_bar"]


def progress_bar(iterable=None, *, total=None, desc=None, progress=True, unit="it"):
    """
    ``iterable`` wrapped in a tqdm bar, or a bar to ``update`` by hand.

    ``progress=False`` turns it off; so does an output that is not a terminal (tqdm's
    ``disable=None``), so logs and batch workers stay clean.
    """
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=None if progress else True, leave=False)
