"""
Solar cycle numbers from dates, for Hale's polarity law.

Cycle ``n`` begins at its minimum: the month of the smallest 13-month smoothed monthly mean
total sunspot number (SIDC smoothing), International Sunspot Number version 2.0, WDC-SILSO,
Royal Observatory of Belgium, Brussels (https://www.sidc.be/silso/). Cycle 1 began in
1755-02; cycle numbering before it is not defined (Wolf's numbering starts there, and the
Maunder minimum, 1645-1715, breaks the count back to Galileo's drawings of 1612).

Hale's law: within one cycle the leading spots of bipolar groups have one polarity in the
northern hemisphere and the opposite one in the southern hemisphere, and both change sign from
one cycle to the next. In cycle 24 (2008-12 to 2019-12) the leading spots of the northern
hemisphere were negative (as in the SOHO/MDI magnetogram of 2010-10-15 that ships with this
package), so in odd cycles they are positive.

Around each minimum the old cycle's spots (close to the equator) and the new cycle's
(at high latitudes) coexist for one to two years (Hathaway 2015, Living Rev. Sol. Phys. 12, 4,
the butterfly diagram). Within `OVERLAP` of a minimum, a group at ``|latitude| >=
OVERLAP_LATITUDE`` is counted in the new cycle and one closer to the equator in the old cycle.
"""

import contextlib
import warnings

import astropy.units as u
from astropy.time import Time
from astropy.utils.exceptions import AstropyWarning
from erfa import ErfaWarning

from sunpy.time import parse_time

from sunpy_dlmag.exceptions import CyclePhaseUnknownError

__all__ = [
    "CYCLE_MINIMA",
    "LAST_DATE",
    "OVERLAP",
    "OVERLAP_LATITUDE",
    "cycle_number",
    "historical_dates",
    "north_leading_polarity",
]


@contextlib.contextmanager
def historical_dates():
    """
    Without the warnings of historical dates: erfa's (UTC is not defined before 1960, its
    ephemeris is approximate before 1900) and astropy's (no polar motion before 1962), at a
    precision (seconds, arcseconds) that does not matter for drawings of 1612 or the 1940s.
    Other warnings pass.
    """
    with warnings.catch_warnings():
        # "dubious year" (UTC before 1960), "date outside the range 1900-2100" (the ephemeris).
        warnings.filterwarnings("ignore", category=ErfaWarning)
        # Nor is polar motion measured before 1962 (arcseconds, irrelevant here).
        warnings.filterwarnings("ignore", message="Tried to get polar motions", category=AstropyWarning)
        yield


#: Month of the minimum that starts each cycle (SILSO, ISN v2.0, 13-month smoothed).
CYCLE_MINIMA = {
    1: "1755-02",
    2: "1766-06",
    3: "1775-06",
    4: "1784-09",
    5: "1798-04",
    6: "1810-08",
    7: "1823-05",
    8: "1833-11",
    9: "1843-07",
    10: "1855-12",
    11: "1867-03",
    12: "1878-12",
    13: "1890-03",
    14: "1902-01",
    15: "1913-07",
    16: "1923-08",
    17: "1933-09",
    18: "1944-02",
    19: "1954-04",
    20: "1964-10",
    21: "1976-03",
    22: "1986-09",
    23: "1996-08",
    24: "2008-12",
    25: "2019-12",
}

#: The end of cycle 25 is not known yet; it is taken to last at most 12 years.
LAST_DATE = "2031-12-31T23:59:59"

#: Time either side of a minimum in which old- and new-cycle groups coexist.
OVERLAP = 1.5 * u.yr
#: Latitude that separates them then: midway between the two wings of the butterfly diagram.
OVERLAP_LATITUDE = 15 * u.deg

# Compared in TT: UTC is not defined before 1960 nor beyond the leap seconds known today.
_STARTS = {n: Time(f"{month}-01T00:00:00", scale="tt") for n, month in CYCLE_MINIMA.items()}
_LAST = Time(LAST_DATE, scale="tt")


def cycle_number(date, latitude=None):
    """
    The solar cycle a sunspot group observed at ``date`` (and ``latitude``) belongs to.

    Parameters
    ----------
    date : `~astropy.time.Time` or str
    latitude : `~astropy.units.Quantity`, optional
        Heliographic latitude of the group; decides between the old and the new cycle within
        `OVERLAP` of a minimum. Without it the cycle is the one running at ``date``.

    Returns
    -------
    int

    Raises
    ------
    CyclePhaseUnknownError
        A date before the start of cycle 1 or after `LAST_DATE`.
    """
    with historical_dates():
        time = parse_time(date).tt
    if time < _STARTS[1] or time > _LAST:
        raise CyclePhaseUnknownError(
            f"The date {time.isot[:10]} is outside the solar cycles sunpy-dlmag knows: cycle 1 began in "
            f"{CYCLE_MINIMA[1]} and cycle 25 (began {CYCLE_MINIMA[25]}) is assumed to end by {LAST_DATE[:10]} "
            "(minima from WDC-SILSO). Before 1755 the cycle, and so the polarity Hale's law gives, is not known "
            "(e.g. Galileo's drawings of 1612). Give leading_polarity=+1 or -1, the polarity of the leading spots "
            "of the northern hemisphere, to reconstruct anyway."
        )
    running = max(n for n, start in _STARTS.items() if start <= time)
    if latitude is None:
        return running
    high = abs(u.Quantity(latitude, u.deg)) >= OVERLAP_LATITUDE
    following = _STARTS.get(running + 1)
    if following is not None and (following - time).to(u.yr) <= OVERLAP and high:
        return running + 1
    started = _STARTS[running]
    if running > 1 and (time - started).to(u.yr) <= OVERLAP and not high:
        return running - 1
    return running


def north_leading_polarity(cycle):
    """Sign (+1 or -1) of the leading spots of the northern hemisphere in ``cycle`` (Hale's law)."""
    return 1 if int(cycle) % 2 == 1 else -1
