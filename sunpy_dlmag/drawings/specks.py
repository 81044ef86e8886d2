"""
Dust or pore: the two rules by which a small dot that passed as a spot is rejected as a
``"speck"`` (dust on the paper or the scanner is as dark as a pencil dot).
"""

import numpy as np

from sunpy_dlmag.drawings.shapes import chains

# So many fine dots chained within the reach are a group of pores, not dust.
_PORE_GROUP = 3
# A spot alone in its group and smaller than this (x radius) squared is dust on any scan: the
# lone pores drawn on the real forms are at least 0.0045 radius across, dust up to 0.0033.
_DUST_SIZE = 0.004


def fine_specks(xy, fine, reach):
    """
    Which spots (centres ``xy``, map pixels) are specks: ``fine`` ones (seen only on each
    block's darkest pixel, not once averaged) that no chain of spots with steps under ``reach``
    (map pixels) joins to a spot seen also when averaged, or to `_PORE_GROUP` - 1 more spots.
    A lone dot of a few pixels is as likely dust as a pore (spotless forms); a pore lies among
    its group (a young group may be pores only).
    """
    fine = np.asarray(fine, dtype=bool)
    if not fine.any():
        return fine
    ids = chains(np.asarray(xy, dtype=float).reshape(-1, 2), reach)
    chain_ids, sizes = np.unique(ids, return_counts=True)
    seen = np.union1d(ids[~fine], chain_ids[sizes >= _PORE_GROUP])
    return ~np.isin(ids, seen)


def lone_specks(rows, table, ids, radius):
    """
    Candidate numbers of the spots alone in their group that are smaller than a pencil dot
    (under `_DUST_SIZE` radius squared in area): dust, on a scan of any resolution. ``rows``:
    the candidates; ``ids``: the candidate of each row of the spot ``table``.
    """
    groups = np.asarray(table["group"])
    alone = np.bincount(groups)[groups] == 1
    small = np.array([rows[k - 1]["n_pixels"] < (_DUST_SIZE * radius) ** 2 for k in ids], dtype=bool)
    return np.unique(ids[alone & small])
