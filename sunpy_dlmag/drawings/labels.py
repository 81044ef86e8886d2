"""
The observer's group labels: handwriting beside the spots (e.g. "H5", "B2", "(12)"), read as
where the observer put each group, not as text.
"""

import numpy as np

from sunpy_dlmag.drawings.shapes import chains

# Marks of one written label lie this close (x disk radius, centre to centre): the characters
# of "H5" are 0.02-0.03 radius apart on the Uccle forms, a count written above the group's
# number (1941) 0.04-0.06, the labels of two groups 0.2 or more.
_CHARACTER_GAP = 0.07
# A label is written this close (x radius) to the nearest spot of its group (0.05-0.11 at Uccle),
# and not closer than this: ink nearer is part of the drawing of the spots.
_LABEL_REACH = 0.15
_LABEL_GAP = 0.03
# A written character is this many pen widths wide and high or more; a piece of a drawn line
# (a rotation axis broken by the threshold) is thinner.
_CHARACTER_SIZE = 1.5
# label_distance="auto": how far (x radius) from a group its label is looked for. Observers who
# label groups write the label 0.05-0.11 radius from a spot (USET forms), in two marks or more.
_AUTO_LABEL_DISTANCE = 0.25


def written_labels(writing, radius, pen_width):
    """
    The labels among the marks of writing (rows of centre x, y and the shorter side of the
    mark's box, map pixels): words of two characters or more, each an array of mark centres.
    """
    writing = np.asarray(writing, dtype=float).reshape(-1, 3)
    writing = writing[writing[:, 2] >= _CHARACTER_SIZE * pen_width * radius, :2]
    words = chains(writing, _CHARACTER_GAP * radius)
    return [writing[words == k] for k in np.unique(words) if np.count_nonzero(words == k) >= 2]


def split_by_labels(groups, spots_xy, labels, radius):
    """
    Group ids, each group split where its observer labelled parts of it apart.

    A label belongs to the group of its nearest spot (within ``_LABEL_REACH``); a chain of spots
    with two labels or more is as many groups, each spot in that of its nearest label. Spots
    closer than the linkage distance are thereby two groups when the observer says so, as two
    small groups drawn side by side are.
    """
    groups = np.asarray(groups)
    if len(labels) < 2:
        return groups
    spots_xy = np.asarray(spots_xy, dtype=float)
    distance = np.stack(
        [np.hypot(*(spots_xy[:, None, :] - word[None, :, :]).transpose(2, 0, 1)).min(axis=1) for word in labels],
        axis=1,
    )  # spots x labels
    owner = groups[distance.argmin(axis=0)]
    nearest = distance.min(axis=0)
    near = (nearest >= _LABEL_GAP * radius) & (nearest <= _LABEL_REACH * radius)
    split = groups.copy()
    next_id = groups.max() + 1
    for g in np.unique(groups):
        member = np.flatnonzero(groups == g)
        own = np.flatnonzero(near & (owner == g))
        if len(own) < 2:
            continue
        choice = own[distance[np.ix_(member, own)].argmin(axis=1)]
        for word in np.unique(choice)[1:]:
            split[member[choice == word]] = next_id
            next_id += 1
    return split


def unlabelled_spots(rows, writing, table, ids, label_distance, radius):
    """
    Candidate numbers of the spots of unlabelled groups (``rows``: the candidates; ``ids``: the
    candidate of each row of the spot ``table``). With a distance (x ``radius``, map pixels):
    every group with no handwriting (``writing``: centres of marks that can be labels) within
    it; with ``"auto"``, on a drawing with a group labelled by two marks or more (written
    characters such as "A1" or "(5)"), each lone pencil dot with no mark near it.
    """
    distance = _AUTO_LABEL_DISTANCE if label_distance == "auto" else label_distance
    spots_xy = np.array([(row["x"], row["y"]) for row in rows], dtype=float)[ids - 1]
    groups = np.asarray(table["group"])
    near = np.hypot(*(spots_xy[:, None, :] - writing[None, :, :2]).transpose(2, 0, 1)) <= distance * radius
    # Marks of writing near each group (near any of its spots), group by group.
    marks = {g: int(near[groups == g].any(axis=0).sum()) for g in np.unique(groups)}
    unlabelled = np.array([marks[g] == 0 for g in groups], dtype=bool)
    if label_distance == "auto":
        if max(marks.values()) < 2:
            return np.zeros(0, dtype=int)
        sizes = np.bincount(groups)[groups]
        unlabelled &= (sizes == 1) & np.isin([rows[k - 1]["verdict"] for k in ids], ["dot", "faint dot"])
    return np.unique(ids[unlabelled])
