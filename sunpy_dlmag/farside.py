"""
Farside magnetograms from EUV images (AISFM: Kim et al. 2019; Jeong et al. 2020, 2022).

The networks are trained on frontside pairs (SDO/AIA EUV -> SDO/HMI line-of-sight
magnetogram) and applied to STEREO/EUVI images of the far side. `farside_magnetogram` runs
the whole path: checks of every input map, exposure normalisation and EUVI -> AIA intensity
cross-calibration (`sunpy_dlmag.calibration`), the model frame of the spec (solar north up,
disk centred, fixed solar radius; `sunpy_dlmag.geometry`), the network
(`sunpy_dlmag.models.Model`, which applies the spec's normalisation), and back to the input
map's own grid as a new map in the input observer's frame.

Channels of a model (its `~sunpy_dlmag.models.ModelSpec` inputs) have two roles:

- *observed* channels: the EUV channels of the spec's first EUV instrument (all of them for
  AISFM v1, v2 and Pix2PixCC; the EUVI 304/195/171 channels for v3). They come from ``euv``
  and define the output's observer, time and grid. An AIA channel also takes the EUVI image
  of the corresponding passband (EUVI 304 -> AIA 304, 195 -> 193, 171 -> 171), cross-calibrated
  to AIA intensities, and an EUVI channel the AIA image (with the inverse relation).
- *reference* channels: the rest (for AISFM v3: the nearest frontside SDO pair, AIA 304/193/171
  and an HMI magnetogram). They come from ``reference`` and are reprojected onto the observed
  view at the observed time, following the solar surface with differential rotation
  (`sunpy.coordinates.propagate_with_solar_surface`); pixels the reference never saw become 0.
"""

import copy
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import astropy.units as u
import numpy as np

import sunpy.map
from sunpy.coordinates import propagate_with_solar_surface

from sunpy_dlmag import calibration, checks, disk, geometry
from sunpy_dlmag.exceptions import (
    ArgumentTypeError,
    ChannelMismatchError,
    DlmagUserWarning,
    InconsistentObservationsError,
    InputMapError,
    UnknownModelError,
)
from sunpy_dlmag.maps import derived_meta
from sunpy_dlmag.models import load_model
from sunpy_dlmag.models.registry import check_task, spec_of
from sunpy_dlmag.models.runtime import register_map_path

__all__ = ["farside_magnetogram", "group_observations", "prepare_inputs"]

#: Largest time between the observed channels of one input.
DEFAULT_TIME_TOLERANCE = 1 * u.h
# Observers closer than this (heliographic degrees, relative distance) are the same observer.
_SAME_OBSERVER_DEG = 1.0
_SAME_OBSERVER_DISTANCE = 0.01


@dataclass
class _Prepared:
    stack: np.ndarray  # (C, H, W) physical values in the model frame
    frame: geometry.ModelFrame  # of the first observed map: the output's observer, time and grid
    observed: list  # the euv maps, in channel order
    notes: list


# --------------------------------------------------------------------------- channels
def _channel_text(channel):
    return channel.label if channel.wavelength is not None else f"{channel.instrument} magnetogram"


def _accepted(channel):
    """(instrument, wavelength) pairs a channel takes: its own, and the other instrument's counterpart."""
    if channel.wavelength is None:
        return []
    instrument = channel.instrument.upper()
    wavelength = round(channel.wavelength.to_value(u.AA))
    accepted = [(instrument, wavelength)]
    if instrument == "AIA" and wavelength in calibration.AIA_TO_EUVI:
        accepted.append(("EUVI", calibration.AIA_TO_EUVI[wavelength]))
    elif instrument == "EUVI" and wavelength in calibration.EUVI_TO_AIA:
        accepted.append(("AIA", calibration.EUVI_TO_AIA[wavelength]))
    return accepted


def _roles(spec):
    """Indices of the observed and of the reference channels of a farside spec."""
    euv = [i for i, c in enumerate(spec.inputs) if c.wavelength is not None]
    if not euv:
        raise InputMapError(
            f"Model {spec.name!r} ({spec.task}) takes no EUV channel (inputs: "
            f"{', '.join(_channel_text(c) for c in spec.inputs)}); farside_magnetogram needs a farside model "
            f"such as {', '.join(n for n in ('aisfm-v1', 'aisfm-v2', 'pix2pixcc', 'aisfm-v3'))}."
        )
    first = spec.inputs[euv[0]].instrument.upper()
    observed = [i for i in euv if spec.inputs[i].instrument.upper() == first]
    reference = [i for i in range(spec.n_inputs) if i not in observed]
    return observed, reference


def _key_wavelength(key):
    """A mapping key as a wavelength in Angstrom, or `None` for a magnetogram key."""
    if key is None or (isinstance(key, str) and key.strip().lower() in ("magnetogram", "hmi", "mag", "b", "blos")):
        return None
    try:
        quantity = key if isinstance(key, u.Quantity) else u.Quantity(float(str(key).strip()), u.AA)
        return round(quantity.to_value(u.AA, equivalencies=u.spectral()))
    except (ValueError, TypeError, u.UnitsError):
        raise ChannelMismatchError(
            f"Cannot read {key!r} as a wavelength: use keys such as 304, '195' or 171 * u.AA "
            "(and 'magnetogram' for a magnetogram channel)."
        ) from None


def _assign(given, indices, spec, argument):
    """Maps for the channels ``indices`` from a map, a sequence in channel order, or a mapping by wavelength."""
    channels = [spec.inputs[i] for i in indices]
    expected = ", ".join(_channel_text(c) for c in channels)
    if given is None:
        raise ChannelMismatchError(f"Model {spec.name!r} needs {argument}= maps for its channels: {expected}.")
    if isinstance(given, sunpy.map.GenericMap):
        given = [given]
    if isinstance(given, Mapping):
        assigned = {}
        for key, smap in given.items():
            wavelength = _key_wavelength(key)
            matches = [
                i
                for i, c in zip(indices, channels, strict=True)
                if (c.wavelength is None and wavelength is None)
                or (wavelength is not None and any(wl == wavelength for _, wl in _accepted(c)))
            ]
            if len(matches) != 1:
                raise ChannelMismatchError(
                    f"The {argument} key {key!r} matches {len(matches)} of the channels of {spec.name!r} "
                    f"({expected}); give one map per channel, keyed by wavelength, or a sequence in this order."
                )
            if matches[0] in assigned:
                raise ChannelMismatchError(
                    f"Two {argument} maps for the channel {_channel_text(spec.inputs[matches[0]])}."
                )
            assigned[matches[0]] = smap
        missing = [_channel_text(spec.inputs[i]) for i in indices if i not in assigned]
        if missing:
            raise ChannelMismatchError(
                f"Model {spec.name!r} needs {argument} maps for {expected}; missing: {', '.join(missing)}."
            )
        maps = [assigned[i] for i in indices]
    elif isinstance(given, Sequence) and not isinstance(given, str):
        maps = list(given)
        if len(maps) != len(indices):
            raise ChannelMismatchError(
                f"Model {spec.name!r} takes {len(indices)} {argument} map(s) ({expected}), in this order; "
                f"got {len(maps)}."
            )
    else:
        raise ChannelMismatchError(
            f"{argument} must be a map, a sequence of maps or a mapping of maps by wavelength; "
            f"got {type(given).__name__}."
        )
    for smap in maps:
        if not isinstance(smap, sunpy.map.GenericMap):
            raise ChannelMismatchError(f"Expected sunpy maps for {argument}, got {type(smap).__name__}.")
    return maps


def _check_euv_channel(smap, channel, spec):
    """Instrument and wavelength of ``smap`` against ``channel``; returns the map's instrument."""
    instrument = checks.euv_instrument(smap)
    wavelength = calibration.wavelength_aa(smap)
    accepted = _accepted(channel)
    if (instrument, wavelength) not in accepted:
        options = " or ".join(f"{i} {w} Angstrom" for i, w in accepted)
        raise ChannelMismatchError(
            f"The {channel.label} channel of {spec.name!r} takes {options}; got {checks.describe_map(smap)}."
        )
    disk.check_full_disk(smap)
    return instrument


def _check_consistent(maps, tolerance, argument):
    """Same observer and nearly the same time for the maps of one group."""
    first = maps[0]
    observer = checks.check_observer(first)
    for smap in maps[1:]:
        dt = abs((smap.date - first.date).to(u.s))
        if dt > tolerance:
            raise InconsistentObservationsError(
                f"The {argument} channels must be observed within {tolerance} of each other; "
                f"{checks.describe_map(smap)} is {dt.to(u.min):.1f} from {checks.describe_map(first)}. "
                "Pick images closer in time, or raise time_tolerance."
            )
        other = checks.check_observer(smap)
        names = calibration.observatory_key(first), calibration.observatory_key(smap)
        dlon = abs((other.lon - observer.lon + 180 * u.deg) % (360 * u.deg) - 180 * u.deg).to_value(u.deg)
        dlat = abs(other.lat - observer.lat).to_value(u.deg)
        ddist = abs(float(other.radius / observer.radius) - 1)
        if (
            (all(names) and names[0] != names[1])
            or max(dlon, dlat) > _SAME_OBSERVER_DEG
            or ddist > _SAME_OBSERVER_DISTANCE
        ):
            raise InconsistentObservationsError(
                f"The {argument} channels must come from one observer; {checks.describe_map(first)} was observed "
                f"from lon {observer.lon.to_value(u.deg):.2f} deg, lat {observer.lat.to_value(u.deg):.2f} deg, "
                f"{observer.radius.to(u.AU):.4f} and {checks.describe_map(smap)} from lon "
                f"{other.lon.to_value(u.deg):.2f} deg, lat {other.lat.to_value(u.deg):.2f} deg, "
                f"{other.radius.to(u.AU):.4f}."
            )


# --------------------------------------------------------------------------- calibration
def _user_calibrations(calibrate):
    if isinstance(calibrate, bool):
        return []
    if isinstance(calibrate, calibration.Calibration):
        return [calibrate]
    values = list(calibrate.values()) if isinstance(calibrate, Mapping) else calibrate
    if isinstance(values, Sequence) and all(isinstance(c, calibration.Calibration) for c in values):
        return list(values)
    raise ArgumentTypeError(
        "calibrate must be True (the packaged table), False (no cross-calibration), a "
        f"sunpy_dlmag.calibration.Calibration, or a list of them; got {type(calibrate).__name__}."
    )


def _find_calibration(smap, instrument, calibrate):
    """The EUVI -> AIA relation for a map fed to the other instrument's channel."""
    user = _user_calibrations(calibrate)
    wavelength = calibration.wavelength_aa(smap)
    if instrument == "EUVI":
        key = calibration.observatory_key(smap)
        for c in user:
            if c.matches(key, wavelength):
                return c
        return calibration.get_calibration(key, wavelength * u.AA)
    # An AIA image in an EUVI channel: the EUVI spacecraft is the one the network was trained with.
    matching = [c for c in user if round(c.aia_wavelength.to_value(u.AA)) == wavelength]
    if len(matching) == 1:
        return matching[0]
    euvi_wl = calibration.AIA_TO_EUVI[wavelength]
    raise calibration._not_available(
        f"An AIA {wavelength} Angstrom image in an EUVI {euvi_wl} Angstrom channel needs the EUVI -> AIA relation "
        f"of the spacecraft the network was trained with, and {len(matching)} calibration(s) for AIA {wavelength} "
        "Angstrom were given (one is needed)."
    )


def _euv_values(smap, instrument, channel, calibrate, notes):
    """Intensities of ``smap`` in DN/s of the channel's instrument."""
    values, _, _ = calibration._rate(smap)
    if instrument == channel.instrument.upper():
        return values
    if calibrate is False:
        warnings.warn(
            f"calibrate=False (--no-calibrate): the {checks.describe_map(smap)} intensities enter the "
            f"{channel.label} channel not cross-calibrated, although the network was trained on the other instrument.",
            DlmagUserWarning,
            stacklevel=4,
        )
        notes.append(f"{checks.describe_map(smap)} not cross-calibrated")
        return values
    relation = _find_calibration(smap, instrument, calibrate)
    relation.check_date(smap.date)
    notes.append(f"{checks.describe_map(smap)} cross-calibrated: {relation}")
    return relation.apply(values) if instrument == "EUVI" else relation.inverse(values)


# --------------------------------------------------------------------------- preparation
@checks.quantity_input
def _prepare(euv, spec, *, reference, calibrate, time_tolerance: u.s):
    _user_calibrations(calibrate)  # a wrong type fails now, whatever the channels
    observed_idx, reference_idx = _roles(spec)
    observed = _assign(euv, observed_idx, spec, "euv")
    instruments = [_check_euv_channel(m, spec.inputs[i], spec) for m, i in zip(observed, observed_idx, strict=True)]
    _check_consistent(observed, time_tolerance, "euv")
    if reference_idx:
        references = _assign(reference, reference_idx, spec, "reference")
    elif reference is not None:
        raise ChannelMismatchError(
            f"Model {spec.name!r} takes no reference input (its channels: "
            f"{', '.join(_channel_text(c) for c in spec.inputs)}); leave reference=None."
        )
    else:
        references = []

    frame = geometry.ModelFrame(observed[0], spec.geometry)
    stack = np.empty((spec.n_inputs, *frame.shape), dtype=np.float32)
    notes = []
    for smap, i, instrument in zip(observed, observed_idx, instruments, strict=True):
        values = _euv_values(smap, instrument, spec.inputs[i], calibrate, notes)
        stack[i] = frame.resample(values, smap.wcs)

    euv_references = []
    for smap, i in zip(references, reference_idx, strict=True):
        channel = spec.inputs[i]
        if channel.wavelength is None:
            values = checks.check_magnetogram(smap)
            unit = "G"
        else:
            instrument = _check_euv_channel(smap, channel, spec)
            values = _euv_values(smap, instrument, channel, calibrate, notes)
            euv_references.append(smap)
            unit = "DN/s"
        stack[i] = _reproject_reference(values, smap, frame.map, unit)
        covered = np.isfinite(stack[i]).mean()
        notes.append(f"reference {channel.label}: {checks.describe_map(smap)} ({100 * covered:.0f} % of the frame)")
        # Pixels the reference never saw carry no information: 0 in physical units, not a mask.
        stack[i][~np.isfinite(stack[i])] = 0.0
    if len(euv_references) > 1:
        _check_consistent(euv_references, time_tolerance, "reference")
    return _Prepared(stack=stack, frame=frame, observed=observed, notes=notes)


def _reproject_reference(values, smap, frame, unit):
    """A reference map's values on the frame's grid, seen from the frame's observer at its time."""
    meta = copy.deepcopy(smap.meta)
    for key in ("blank", "bscale", "bzero"):
        meta.pop(key, None)
    meta["bunit"] = unit
    # One sphere for both views (instruments assume radii 0.04 % apart): no rsun mismatch.
    meta["rsun_ref"] = frame.rsun_meters.to_value(u.m)
    source = sunpy.map.Map(values, meta)
    with propagate_with_solar_surface():
        return source.reproject_to(frame.wcs).data.astype(np.float32, copy=False)


def _spec_of(model):
    try:
        return spec_of(model)
    except UnknownModelError:
        raise UnknownModelError(
            f"Unknown model {model!r}: neither a registered model nor an existing weights file."
        ) from None


@checks.quantity_input
def prepare_inputs(
    euv, *, model="aisfm-v2", reference=None, calibrate=True, time_tolerance: u.s = DEFAULT_TIME_TOLERANCE
):
    """
    What a farside network sees: the input channels in its model frame, in physical units.

    Runs every check and preprocessing step of `farside_magnetogram` (no weights needed), and
    returns one map per input channel of the model, in the spec's order.

    Parameters
    ----------
    euv, reference, calibrate, time_tolerance
        As in `farside_magnetogram`.
    model : str, path, `~sunpy_dlmag.models.ModelSpec` or `~sunpy_dlmag.models.Model`
        Only the spec is used.

    Returns
    -------
    list of `~sunpy_dlmag.maps.DlmagMap`
        Maps in the model frame of the first ``euv`` map's observer and time: EUV channels in
        DN/s of the channel's instrument (cross-calibrated where the image came from the other
        instrument), magnetogram channels in G. Not normalised: the runtime does that.
        Products of this package (``DLPROD = 'model-frame input'``, ``DLCHAN`` the channel).
    """
    spec = _spec_of(model)
    prepared = _prepare(euv, spec, reference=reference, calibrate=calibrate, time_tolerance=time_tolerance)
    inputs = "; ".join(checks.describe_map(m) for m in prepared.observed)
    maps = []
    for channel, data in zip(spec.inputs, prepared.stack, strict=True):
        field = channel.wavelength is None
        meta = derived_meta(
            prepared.frame.map.meta,
            product="model-frame input",
            measurement="magnetogram" if field else "EUV intensity",
            ai_generated=False,
            history=f"model-frame input {_channel_text(channel)} of {spec.name}",
            bunit="G" if field else "DN/s",
            instrument=f"model-frame input {_channel_text(channel)}",
            observatory=prepared.observed[0].observatory or "unknown",
            inputs=inputs,
            wavelength=None if field else channel.wavelength.to(u.AA),
        )
        meta["dlchan"] = _channel_text(channel)
        maps.append(sunpy.map.Map(data, meta))
    return maps


# --------------------------------------------------------------------------- files of one observation
def group_observations(paths, *, model, time_tolerance=DEFAULT_TIME_TOLERANCE):
    """
    The files of each observation, one per observed channel of a farside model, in its order.

    Each file of the model's first channel starts an observation; each other channel takes
    the file of its passband from the same spacecraft nearest in time, within
    ``time_tolerance`` and not taken by another observation (as the batch runner matches
    files). What ``sunpy-dlmag farside`` runs for a model of several channels.

    Parameters
    ----------
    paths : sequence of path
    model : str, path, `~sunpy_dlmag.models.ModelSpec` or `~sunpy_dlmag.models.Model`
        Only the spec is used.
    time_tolerance : `~astropy.units.Quantity`

    Returns
    -------
    groups : list of list of path
        One list per observation, in the spec's channel order.
    unmatched : list of (path, str)
        Files in no observation, and why.
    """
    spec = _spec_of(model)
    observed_idx, _ = _roles(spec)
    channels = [spec.inputs[i] for i in observed_idx]
    if len(channels) == 1:
        return [[p] for p in paths], []
    found = {c: [] for c in range(len(channels))}  # channel -> [(path, observatory, date)]
    unmatched = []
    for path in paths:
        try:
            smap = sunpy.map.Map(path)
            key = (checks.euv_instrument(smap), calibration.wavelength_aa(smap))
        except Exception as err:  # unreadable: reported as this file's failure
            unmatched.append((path, f"cannot be read ({type(err).__name__}: {err})"))
            continue
        matches = [c for c, channel in enumerate(channels) if key in _accepted(channel)]
        if not matches:
            unmatched.append((path, f"{checks.describe_map(smap)} is none of the channels {_labels(channels)}"))
            continue
        found[matches[0]].append((path, calibration.observatory_key(smap), smap.date))
    groups = []
    used = set()
    for path, observatory, date in found[0]:
        group, missing = [path], []
        for c in range(1, len(channels)):
            near = [
                (abs((d - date).to_value(u.s)), p)
                for p, o, d in found[c]
                if o == observatory and p not in used and abs((d - date).to_value(u.s)) <= time_tolerance.to_value(u.s)
            ]
            if near:
                group.append(min(near)[1])
            else:
                missing.append(channels[c].label)
        if missing:
            unmatched.append(
                (path, f"no file of {', '.join(missing)} from {observatory} within {time_tolerance} of it")
            )
            continue
        used.update(group[1:])
        groups.append(group)
    for c in range(1, len(channels)):
        for path, observatory, _ in found[c]:
            if path not in used:
                unmatched.append((path, f"no file of {channels[0].label} from {observatory} within {time_tolerance}"))
    return groups, unmatched


def _labels(channels):
    return ", ".join(c.label for c in channels)


# --------------------------------------------------------------------------- the network
def _farside_model(model, device, num_threads=None, precision="fp32"):
    net = load_model(model, device=device, num_threads=num_threads, task="farside", precision=precision)
    _roles(net.spec)  # raises for a model without EUV channels
    return net


@checks.quantity_input
def farside_magnetogram(
    euv,
    *,
    model="aisfm-v2",
    reference=None,
    device="auto",
    calibrate=True,
    time_tolerance: u.s = DEFAULT_TIME_TOLERANCE,
    num_threads=None,
    precision="fp32",
):
    """
    An AI-generated line-of-sight magnetogram from EUV images, as a new map.

    Works on STEREO-A/B EUVI images (the far side) and on SDO/AIA images (the front side,
    to compare with HMI). See the module description for the channel roles.

    Parameters
    ----------
    euv : `~sunpy.map.GenericMap`, sequence or mapping of maps
        One full-disk EUV map for a one-channel model (AISFM v1: 304 Angstrom); a sequence in
        the spec's channel order, or a mapping by wavelength (``{304: m304, 195: m195, 171: m171}``,
        keys in Angstrom or as Quantities), for the three-channel models. EUVI or AIA, level 0.5,
        1 or 1.5, in DN or DN/s; observed by one observer within ``time_tolerance``.
    model : str, path or `~sunpy_dlmag.models.Model`
        A registered farside model (``"aisfm-v1"``, ``"aisfm-v2"``, ``"pix2pixcc"``,
        ``"aisfm-v3"``; their weights are not published for download: train and export them,
        see the farside guide), the path of an exported ONNX file, or a loaded model.
    reference : `~sunpy.map.GenericMap`, sequence or mapping of maps, optional
        The reference channels of reference-input models (AISFM v3: the nearest frontside SDO
        pair, AIA 304, 193, 171 and an HMI magnetogram; keys 304, 193, 171 and ``"magnetogram"``).
        They are reprojected onto the ``euv`` observer's view at its time, following the solar
        surface (differential rotation); pixels they never saw become 0.
    device : {"auto", "cpu", "cuda"}
    calibrate : bool, `~sunpy_dlmag.calibration.Calibration` or list of them
        ``True``: cross-calibrate EUVI images fed to AIA channels (and the reverse) with the
        packaged table (`sunpy_dlmag.calibration.calibration_table`); a `~sunpy_dlmag.calibration.Calibration` (or
        several, one per passband) from `~sunpy_dlmag.calibration.derive_calibration` takes
        precedence over the table; ``False``: no cross-calibration (warns).
    time_tolerance : `~astropy.units.Quantity`
        Largest time between the ``euv`` channels (and between EUV reference channels).
    num_threads : int, optional
        Threads of onnxruntime when the model is loaded here (default: its own choice, all
        cores); e.g. 1 per process when many processes run at once.
    precision : {"fp32", "int8", "fp16"}
        ``"int8"``: the CPU's int8 graph, calibrated on the shipped sample images; ``"fp16"``
        on CUDA (see `~sunpy_dlmag.models.load_model`).

    Returns
    -------
    `~sunpy.map.GenericMap`
        A new map on the grid of the first ``euv`` map (same WCS, observer and time: for
        STEREO-A/B, that spacecraft's position), in G, NaN off the disk, with magnetogram plot
        settings. Its header says it is an AI-generated magnetogram made by the model (name,
        version, sha256 of the weights) from that EUV observation, not an observation.

    Raises
    ------
    WeightsNotInstalledError
        No weights for a registered model (the message says how to train, export and load
        them, or where to put downloaded ones).
    ChannelMismatchError
        Wrong number of maps, or a map whose instrument or wavelength does not fit its channel.
    InconsistentObservationsError
        Channels from different observers, or further apart in time than ``time_tolerance``.
    IncompleteDiskError
        An EUV image that does not hold the whole disk.
    MissingObserverError
        A map without observer position.
    CalibrationNotAvailableError
        No cross-calibration for a spacecraft and passband (derive one, or ``calibrate=False``).

    See Also
    --------
    sunpy_dlmag.synchronic_map
        merge its output with frontside magnetograms.
    sunpy_dlmag.calibration.derive_calibration
        the EUVI to AIA cross-calibration it applies.
    sunpy_dlmag.training.trainer.Trainer
        train the weights it needs.

    References
    ----------
    .. [1] Kim, T., Park, E., Lee, H., et al. 2019, Nature Astronomy 3, 397: solar farside magnetograms from deep
       learning analysis of STEREO/EUVI data.
    .. [2] Jeong, H.-J., Moon, Y.-J., Park, E., et al. 2022, ApJS 262, 50: improved AI-generated solar farside
       magnetograms by STEREO and SDO data sets and their release.

    Examples
    --------
    >>> import sunpy.map
    >>> from sunpy_dlmag.data.sample import EUVI_171
    >>> from sunpy_dlmag.farside import farside_magnetogram
    >>> euvi = sunpy.map.Map(EUVI_171)  # doctest: +IGNORE_WARNINGS
    >>> farside_magnetogram(euvi, model="aisfm-v1")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    sunpy_dlmag.exceptions.WeightsNotInstalledError: No weights are installed for 'aisfm-v1' ...
    """
    spec = check_task(spec_of(model), "farside")
    _roles(spec)  # raises for a model without EUV channels
    # Weights first: what is missing for the whole path is said before anything about the inputs.
    net = _farside_model(model, device, num_threads, precision)
    prepared = _prepare(euv, spec, reference=reference, calibrate=calibrate, time_tolerance=time_tolerance)
    return _translate(net, prepared)


def _translate(net, prepared, **kwargs):
    """The network on prepared inputs, with the output's history saying what went in and how."""
    inputs = "; ".join(checks.describe_map(m) for m in prepared.observed)
    note = f"AI-generated magnetogram from the EUV observation(s): {inputs}."
    if prepared.notes:
        note += " " + "; ".join(prepared.notes) + "."
    return net.translate(prepared.stack, prepared.frame, note=note, **kwargs)


def predict_maps(net, maps, **kwargs):
    """
    ``Model.predict`` on maps for a farside model: the preparation of `farside_magnetogram`.

    ``maps`` is what ``euv`` takes, or one map per input channel in the spec's order (the
    observed channels, then, where the model has them, the reference channels); the packaged
    or no cross-calibration is used as ``calibrate=True`` would.
    """
    observed_idx, reference_idx = _roles(net.spec)
    reference = None
    if reference_idx and isinstance(maps, Sequence) and not isinstance(maps, str) and len(maps) == net.spec.n_inputs:
        maps = list(maps)
        maps, reference = [maps[i] for i in observed_idx], [maps[i] for i in reference_idx]
    prepared = _prepare(maps, net.spec, reference=reference, calibrate=True, time_tolerance=DEFAULT_TIME_TOLERANCE)
    return _translate(net, prepared, **kwargs)


# Model.predict on maps of a farside model takes this path, not raw EUV values.
register_map_path("farside", predict_maps)
