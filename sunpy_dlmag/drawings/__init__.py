"""
Sunspot drawings to maps, sunspot tables and magnetograms (Lee et al. 2021, ApJ 907, 118).

- `read_drawing` (``sunpy_dlmag.drawings.read``): a scanned or photographed drawing (PNG,
  JPEG, TIFF, or an array) becomes a helioprojective map for an Earth observer at the
  drawing's date: the drawn limb is found by a robust circle fit, the orientation (angle of
  solar north, mirroring) comes from the user or is read from the form's marks
  (``sunpy_dlmag.drawings.orientation``; `OrientationWarning` when it cannot be read).
- `detect_sunspots`, `sunspot_groups`, `spot_candidates` (``sunpy_dlmag.drawings.spots``),
  `plot_candidates`: the drawn spots, told from printed form features and
  handwriting by their shape, with heliographic positions, foreshortening-corrected areas in
  millionths of the solar hemisphere (`MSH`), and groups.
- `sunspot_counts`, `count_drawings` (``sunpy_dlmag.drawings.counts``): the day's groups and
  counts g, f and the Wolf number R = 10 g + f of one drawing, or of many to one table
  (``sunpy-dlmag counts``); `form_template` (``sunpy_dlmag.drawings.template``): the median
  of many scans of one form layout, whose marks (print, scanner dust) a batch does not count.
- `sunspot_bipoles`, `drawing_to_magnetogram` (``sunpy_dlmag.drawings.bipoles``): a
  line-of-sight magnetogram from a drawing, either with a trained ``drawing`` network or as
  one bipole per spot group (flux from the spot areas, Hale's polarity law, Joy's law).

Synthetic drawings traced from observations and training pairs live with the training code,
in `sunpy_dlmag.training.drawings`. The relations, their sources and the measured accuracy
are in the user guide (drawings).
"""

from sunpy_dlmag.drawings.bipoles import drawing_to_magnetogram, spot_mean_field, sunspot_bipoles
from sunpy_dlmag.drawings.counts import (
    COUNT_COLUMNS,
    SunspotCounts,
    count_drawings,
    date_from_name,
    read_dates,
    sunspot_counts,
    write_counts,
)
from sunpy_dlmag.drawings.diagnostics import plot_candidates
from sunpy_dlmag.drawings.orientation import OrientationWarning
from sunpy_dlmag.drawings.read import read_drawing
from sunpy_dlmag.drawings.spots import MSH, VERDICTS, detect_sunspots, spot_candidates, sunspot_groups
from sunpy_dlmag.drawings.template import form_template

__all__ = [
    "COUNT_COLUMNS",
    "MSH",
    "VERDICTS",
    "OrientationWarning",
    "SunspotCounts",
    "count_drawings",
    "date_from_name",
    "detect_sunspots",
    "drawing_to_magnetogram",
    "form_template",
    "plot_candidates",
    "read_dates",
    "read_drawing",
    "spot_candidates",
    "spot_mean_field",
    "sunspot_bipoles",
    "sunspot_counts",
    "sunspot_groups",
    "write_counts",
]
