"""
Argument validators: each returns the cleaned value or raises a specific
`~sunpy_dlmag.exceptions.DlmagError` naming the argument, what it takes and what it got.
Part of `sunpy_dlmag.checks`, which exports them.
"""

import functools
import inspect
import numbers

import astropy.units as u
import numpy as np
from astropy.time import Time

from sunpy.time import parse_time

from sunpy_dlmag.exceptions import ArgumentTypeError, InvalidArgumentError

__all__ = [
    "check_bool",
    "check_choice",
    "check_date",
    "check_int",
    "check_number",
    "check_quantity",
    "check_shape",
    "quantity_input",
]


def check_bool(value, name):
    """``value`` if it is a bool (numpy bools included); refuses truthy strings such as ``"no"``."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ArgumentTypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__}).")


def check_int(value, name, *, minimum=None, maximum=None, allow_none=False):
    """``value`` as an int (numpy integers too; not bools, floats or strings), within the bounds."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        parts = (f">= {minimum}" if minimum is not None else "", f"<= {maximum}" if maximum is not None else "")
        bounds = " and ".join(part for part in parts if part)
        raise InvalidArgumentError(f"{name} must be an integer {bounds}, got {value}.")
    return value


def check_number(value, name, *, minimum=None, maximum=None, inclusive=(True, True), allow_none=False):
    """``value`` as a finite float within the bounds (``inclusive`` says whether each bound is allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool | np.bool_ | u.Quantity) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a number, got {value!r} ({type(value).__name__}).")
    value = float(value)
    low_ok = minimum is None or (value >= minimum if inclusive[0] else value > minimum)
    high_ok = maximum is None or (value <= maximum if inclusive[1] else value < maximum)
    if not np.isfinite(value) or not (low_ok and high_ok):
        low = "" if minimum is None else f"{'[' if inclusive[0] else '('}{minimum:g}"
        high = "" if maximum is None else f"{maximum:g}{']' if inclusive[1] else ')'}"
        where = f" in {low or '(-inf'}, {high or 'inf)'}" if (minimum is not None or maximum is not None) else ""
        raise InvalidArgumentError(f"{name} must be a finite number{where}, got {value!r}.")
    return value


def _example(value):
    """The number a user gave without its unit, for the example in a message (else 1)."""
    return value if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_) else 1


def check_date(value, name="date"):
    """
    ``value`` as an `~astropy.time.Time` (anything `sunpy.time.parse_time` reads: a Time, a
    datetime, an ISO string such as ``"2013-09-01T08:50"``); anything else refused naming ``name``.
    """
    if value is None or isinstance(value, bool | np.bool_ | numbers.Number):
        raise ArgumentTypeError(
            f"{name} must be a date (an astropy Time, a datetime or an ISO string such as '2013-09-01T08:50'), "
            f"got {value!r} ({type(value).__name__})."
        )
    try:
        time = parse_time(value)
    except (ValueError, TypeError) as err:
        raise InvalidArgumentError(
            f"{name} must be a date (an astropy Time, a datetime or an ISO string such as '2013-09-01T08:50'), "
            f"got {value!r}: sunpy.time.parse_time cannot read it."
        ) from err
    if not isinstance(time, Time) or not time.isscalar:
        raise InvalidArgumentError(f"{name} must be one date, got {value!r}.")
    return time


def check_quantity(value, unit, name, *, positive=False, allow_zero=False, allow_none=False):
    """
    ``value`` as a finite scalar `~astropy.units.Quantity` in ``unit``; numbers without a unit are refused.

    ``positive`` requires > 0 (or >= 0 with ``allow_zero``).
    """
    if value is None and allow_none:
        return None
    unit = u.Unit(unit)
    if not isinstance(value, u.Quantity):
        raise ArgumentTypeError(
            f"{name} must be a Quantity in {unit} (e.g. {name}={_example(value)} * u.{unit.to_string()}), got "
            f"{value!r} ({type(value).__name__})."
        )
    if not value.unit.is_equivalent(unit):
        raise ArgumentTypeError(f"{name} must be in units of {unit}, got {value.unit}.")
    if not value.isscalar or not np.isfinite(value.value):
        raise InvalidArgumentError(f"{name} must be one finite value, got {value}.")
    if positive and not (value.value > 0 or (allow_zero and value.value == 0)):
        raise InvalidArgumentError(f"{name} must be {'>= 0' if allow_zero else 'positive'}, got {value}.")
    return value.to(unit)


def quantity_input(func):
    """
    `astropy.units.quantity_input` whose refusals are `~sunpy_dlmag.exceptions.ArgumentTypeError`.

    Every public function that takes a Quantity is decorated with this rather than astropy's
    decorator, so a plain number (``group_distance=5``) or a Quantity of the wrong dimension
    raises one error class that names the argument, the unit expected and the value given.
    `None` passes where it is the default. Annotations are units (``angle: u.deg``).
    """
    checked = u.quantity_input(func)
    signature = inspect.signature(func)
    units = {}
    for name, parameter in signature.parameters.items():
        if parameter.annotation is inspect.Parameter.empty:
            continue
        units[name] = (u.Unit(parameter.annotation), parameter.default is None)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return func(*args, **kwargs)  # a wrong call: Python's own message, naming the function
        for name, value in bound.arguments.items():
            if name not in units or (value is None and units[name][1]):
                continue
            unit = units[name][0]
            if not isinstance(value, u.Quantity):
                raise ArgumentTypeError(
                    f"{func.__name__}: {name} must be a Quantity in units of {unit} (e.g. "
                    f"{name}={_example(value)} * u.{unit.to_string()}), got {value!r} ({type(value).__name__})."
                )
            if not value.unit.is_equivalent(unit):
                raise ArgumentTypeError(
                    f"{func.__name__}: {name} must be in units of {unit} (or convertible to it), got {value}."
                )
        return checked(*args, **kwargs)

    return wrapper


def check_choice(value, choices, name):
    """``value`` if it is one of ``choices``; a bool or a string never stands for a number, nor the reverse."""
    for choice in choices:
        if isinstance(value, bool | np.bool_) != isinstance(choice, bool) or isinstance(value, str) != isinstance(
            choice, str
        ):
            continue
        if value is choice or (isinstance(value, str | numbers.Number) and value == choice):
            return choice
    raise InvalidArgumentError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")


def check_shape(shape, name="shape", *, minimum=2):
    """``(n_latitude, n_longitude)`` (or ``(ny, nx)``) as a tuple of two ints >= ``minimum``."""
    if not isinstance(shape, tuple | list) or len(shape) != 2:
        raise ArgumentTypeError(f"{name} must be a pair of integers (rows, columns), got {shape!r}.")
    return tuple(check_int(n, f"each of {name}", minimum=minimum) for n in shape)
