"""
Errors and warnings raised by sunpy-dlmag.

Every error says what was expected and what was given. All errors derive from
`DlmagError`, so ``except sunpy_dlmag.exceptions.DlmagError`` catches any of them.
"""

from sunpy.util.exceptions import SunpyUserWarning

__all__ = [
    "ArchiveUnreachableError",
    "ArgumentTypeError",
    "AssumedUnitWarning",
    "CalibrationNotAvailableError",
    "ChannelMismatchError",
    "CyclePhaseUnknownError",
    "DeviceNotAvailableError",
    "DlmagError",
    "DlmagUserWarning",
    "ImplausibleValueError",
    "IncompleteDiskError",
    "InconsistentObservationsError",
    "InputFileError",
    "InputMapError",
    "InvalidArgumentError",
    "InvalidModelSpecError",
    "MissingDateError",
    "MissingDependencyError",
    "MissingFileError",
    "MissingObserverError",
    "ModelInputMismatchError",
    "ModelOutputError",
    "ModelTaskError",
    "NoDiskError",
    "NonFiniteDataError",
    "OutputExistsError",
    "TilingError",
    "TrainingDataError",
    "UnitError",
    "UnknownModelError",
    "WeightsHashMismatchError",
    "WeightsNotInstalledError",
]


class DlmagError(Exception):
    """Base class of all sunpy-dlmag errors."""


class UnknownModelError(DlmagError, KeyError):
    """A model name that is not in the registry."""

    def __str__(self):
        # KeyError would quote the message; show it as written.
        return str(self.args[0]) if self.args else ""


class WeightsNotInstalledError(DlmagError, FileNotFoundError):
    """A registered model whose weights are neither bundled, installed nor downloadable."""


class WeightsHashMismatchError(DlmagError):
    """A weights file whose sha256 differs from the one its spec records."""


class ModelInputMismatchError(DlmagError, ValueError):
    """An ONNX graph whose inputs or outputs do not match its `~sunpy_dlmag.models.ModelSpec`."""


class ModelOutputError(DlmagError, RuntimeError):
    """A network that returned NaN or infinite values for finite input (broken or untrained weights)."""


class InvalidModelSpecError(DlmagError, ValueError):
    """A model spec that is missing, malformed or inconsistent."""


class DeviceNotAvailableError(DlmagError, RuntimeError):
    """A device was requested that onnxruntime cannot use on this machine."""


class InputMapError(DlmagError, ValueError):
    """A map or array that is not the input a function expects."""


class InvalidArgumentError(DlmagError, ValueError):
    """An argument whose value is out of range or not one of the allowed choices."""


class TilingError(InvalidArgumentError):
    """Tile size or overlap arguments that are not integers, out of range, or too small for the network."""


class ArgumentTypeError(InvalidArgumentError, TypeError):
    """An argument of the wrong type (a string for a number, a number without its unit, ...)."""


class InputFileError(InputMapError, OSError):
    """A file that cannot be read as the product a reader expects (empty, truncated, corrupt, wrong shape)."""


class MissingFileError(InputFileError, FileNotFoundError):
    """An input file or folder that does not exist."""


class TrainingDataError(InputMapError):
    """
    Training or validation data a run cannot use: a manifest without pairs, folders without
    matching pairs, or files that cannot be read or have the wrong shape, unit or channels.
    """


class UnitError(InputMapError):
    """Data in a unit the function cannot use, or a unit (BUNIT) that cannot be parsed."""


class NonFiniteDataError(InputMapError):
    """Data with infinite values, values too large for float32, or no finite value at all."""


class ImplausibleValueError(InputMapError):
    """Data beyond what the Sun produces (e.g. ``|B|`` above a product's limit), or an EUV frame that cannot be one."""


class MissingDateError(InputMapError):
    """A map without an observation time (sunpy would silently use the current time)."""


class MissingObserverError(InputMapError):
    """A map without the observer position needed to place it on the Sun."""


class ModelTaskError(InputMapError):
    """A model made for another task than the function it was given to (e.g. a farside model to denoise)."""


class ChannelMismatchError(InputMapError):
    """Input maps whose instrument, wavelength or number do not match a model's input channels."""


class InconsistentObservationsError(InputMapError):
    """Channels of one input that were not observed by the same observer at nearly the same time."""


class IncompleteDiskError(InputMapError):
    """A full-disk model given an image that does not hold the whole solar disk."""


class NoDiskError(InputMapError):
    """A drawing without a drawn disk outline (limb): no circle traced by a line over half its circumference."""


class OutputExistsError(DlmagError, FileExistsError):
    """An output file that exists already, where the call was not told to overwrite it."""


class MissingDependencyError(DlmagError, ImportError):
    """An optional dependency that a capability needs is not installed; the message says how to install it."""


class ArchiveUnreachableError(DlmagError, ConnectionError):
    """A data archive (the VSO, JSOC) that cannot be reached: no network, or the archive is down."""


class CalibrationNotAvailableError(DlmagError, LookupError):
    """No intensity cross-calibration is known for an instrument, spacecraft and wavelength."""


class CyclePhaseUnknownError(DlmagError, ValueError):
    """A date outside the solar cycles whose phase (and so Hale's polarity) is known."""


class DlmagUserWarning(SunpyUserWarning):
    """Warnings raised by sunpy-dlmag."""


class AssumedUnitWarning(DlmagUserWarning):
    """A map without a unit (BUNIT) taken to be in the unit its source is known to use."""
