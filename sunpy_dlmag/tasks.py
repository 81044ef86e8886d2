"""
The file-level capabilities, each declared once: what it reads, its options and what it writes.

A `Task` turns one input file into one output map, written as FITS (by its ``writer``). The command line
(``sunpy-dlmag denoise INPUT... --out``, ``sunpy-dlmag batch denoise``) and the batch runner
(`sunpy_dlmag.batch.run_batch`) both build their arguments from these declarations, so an
option is added in one place: its `Option` in the task's ``options``. The capability itself
(e.g. `sunpy_dlmag.denoise`) is imported only when a file is processed.
"""

import importlib
from dataclasses import dataclass

from sunpy_dlmag.exceptions import ArgumentTypeError
from sunpy_dlmag.io import FITS_SUFFIXES

__all__ = ["DRAWING_SUFFIXES", "TASKS", "Option", "Task"]

#: File name endings of drawing scans.
DRAWING_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


@dataclass(frozen=True)
class Option:
    """
    One option of a task: a keyword of the capability, a ``--flag`` of the command line.

    Parameters
    ----------
    name : str
        Keyword name (``tile_size``); the flag is ``--tile-size``. A `bool` option that is
        True by default is turned off with ``--no-<name>``.
    type : type
        `str`, `int`, `float` or `bool`.
    default : object
        Value when not given.
    help : str
        One line for ``--help``; the default and the units are added to it.
    units : str, optional
        Units of the value (e.g. ``"deg"``): the command line takes a number, the capability
        receives an `~astropy.units.Quantity`.
    choices : tuple, optional
        The allowed values.
    required : bool
        The option must be given.
    to_reader : bool
        The option goes to the task's reader instead of the capability.
    """

    name: str
    type: type = str
    default: object = None
    help: str = ""
    units: str | None = None
    choices: tuple | None = None
    required: bool = False
    to_reader: bool = False

    @property
    def flag(self):
        """The command-line flag."""
        dashed = self.name.replace("_", "-")
        return f"--no-{dashed}" if self.type is bool and self.default else f"--{dashed}"

    @property
    def help_text(self):
        """``help`` with the units and the default, for ``--help``."""
        text = self.help
        if self.units:
            text += f" [{self.units}]"
        if self.type is not bool and self.default is not None and not self.required:
            text += f" (default {self.default})"
        return text

    def value(self, given):
        """The value the capability receives: with its units, if it has any."""
        if self.units and given is not None:
            import astropy.units as u

            return u.Quantity(given, self.units)
        return given


@dataclass(frozen=True)
class Task:
    """
    A capability that turns one file into one output map.

    Calling a task, ``task(path, num_threads=None, **options)``, reads the file, runs the
    capability and returns the output `~sunpy.map.GenericMap`; ``sunpy_dlmag.batch`` writes
    it. A task holds only names and module-level functions, so it travels to Dask workers.

    Parameters
    ----------
    name : str
        Command name, and the end of output file names (``<stem>_<name>.fits``).
    summary : str
        One line for ``--help``.
    function : str
        The capability, ``"module:function"``; it takes the input as read, the options and
        ``num_threads``.
    reader : str
        ``"module:function"`` reading one file (with the options marked ``to_reader``).
    options : tuple of `Option`
    suffixes : tuple of str
        File name endings taken from folders and globs.
    reads : str
        What the inputs are, for ``--help``.
    writer : str
        ``"module:function"`` writing the output map, ``writer(smap, path, overwrite=...)``.
    """

    name: str
    summary: str
    function: str
    reader: str = "sunpy.map:Map"
    options: tuple = ()
    suffixes: tuple = FITS_SUFFIXES
    reads: str = "FITS files"
    writer: str = "sunpy_dlmag.io:save_map"

    def write(self, smap, path, *, overwrite=False, **options):
        """Write an output map with the task's writer (``options``, e.g. ``compress``, go to it)."""
        return _resolve(self.writer)(smap, path, overwrite=overwrite, **options)

    def option(self, name):
        """The `Option` of a name."""
        return next(o for o in self.options if o.name == name)

    def defaults(self):
        """Every option's default value (not the required ones)."""
        return {o.name: o.default for o in self.options if not o.required}

    def values(self, options):
        """
        Every option's value as the capability (or reader) receives it: ``options`` over the
        defaults, with units. Unknown or missing required options are an
        `~sunpy_dlmag.exceptions.ArgumentTypeError`.
        """
        unknown = set(options) - {o.name for o in self.options}
        if unknown:
            raise ArgumentTypeError(
                f"Task {self.name!r} has no option {', '.join(sorted(unknown))}; "
                f"its options are {', '.join(o.name for o in self.options)}."
            )
        missing = [o.name for o in self.options if o.required and options.get(o.name) is None]
        if missing:
            raise ArgumentTypeError(f"Task {self.name!r} needs the option(s) {', '.join(missing)}.")
        given = self.defaults() | options
        return {o.name: o.value(given[o.name]) for o in self.options if o.name in given}

    def read(self, path, **options):
        """The input of one file, as the task's reader gives it (with the options marked ``to_reader``)."""
        values = self.values(options)
        return _resolve(self.reader)(path, **{o.name: values[o.name] for o in self.options if o.to_reader})

    def __call__(self, path, *, num_threads=None, **options):
        values = self.values(options)
        function_options = {o.name: values[o.name] for o in self.options if not o.to_reader and o.name in values}
        return _resolve(self.function)(self.read(path, **options), num_threads=num_threads, **function_options)


def _label_distance(text):
    """``--label-distance``: "auto", "off" (every group) or a fraction of the radius."""
    if text in ("auto", "off"):
        return None if text == "off" else text
    try:
        return float(text)
    except ValueError:
        raise ArgumentTypeError(f'label distance is "auto", "off" or a number, got {text!r}') from None


def _resolve(reference):
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def _read_map_option(path):
    """A map option given as a file (e.g. farside's reference magnetogram)."""
    import sunpy.map

    return sunpy.map.Map(path) if path is not None else None


def farside_calibrate(calibration, calibrate):
    """``calibrate`` of `~sunpy_dlmag.farside_magnetogram` from the options ``calibration`` (file) and ``calibrate``."""
    from sunpy_dlmag.calibration import read_calibrations
    from sunpy_dlmag.exceptions import InvalidArgumentError

    if calibration is None:
        return calibrate
    if calibrate is False:
        raise InvalidArgumentError(
            f"--calibration {calibration} and --no-calibrate contradict each other; give one of them."
        )
    return read_calibrations(calibration)


def _farside(euv_map, *, reference=None, calibration=None, calibrate=True, **options):
    """`~sunpy_dlmag.farside_magnetogram` with the reference magnetogram and the calibrations given as files."""
    from sunpy_dlmag.farside import farside_magnetogram

    calibrate = farside_calibrate(calibration, calibrate)
    return farside_magnetogram(euv_map, reference=_read_map_option(reference), calibrate=calibrate, **options)


_DEVICE = Option("device", default="auto", choices=("auto", "cpu", "cuda"), help="where the network runs")
_PRECISION = Option(
    "precision",
    default="fp32",
    choices=("fp32", "int8", "fp16"),
    help="fp32; int8: faster on the CPU, less exact (see the performance page); fp16: CUDA only",
)
# Options of every task that runs an ONNX network: one more is added here once.
_NETWORK = (_DEVICE, _PRECISION)

#: The declared tasks, by name.
TASKS = {
    task.name: task
    for task in [
        Task(
            "denoise",
            "denoise line-of-sight magnetograms (Park et al. 2020)",
            "sunpy_dlmag.denoise:denoise",
            options=(
                Option(
                    "method",
                    default="ae",
                    choices=("ae", "translation"),
                    help="ae: the M2 autoencoder trained for the instrument (denoise-m2-hmi for HMI, denoise-m2 "
                    "for MDI; weights ship with the package); "
                    "translation: M1 (denoise-m1, needs weights you train or download)",
                ),
                Option("model", help="another registered denoising model, or an ONNX file you exported"),
                *_NETWORK,
                Option(
                    "tile_size",
                    int,
                    help="largest tile side in pixels, margins included (default: whole image up to about 2.1 million "
                    "pixels, larger ones in tiles of at most that many)",
                ),
                Option(
                    "overlap", int, help="margin read around each tile, pixels (default and minimum: receptive radius)"
                ),
                Option(
                    "uncertainty",
                    bool,
                    default=False,
                    help="also write a per-pixel uncertainty (G), read back with sunpy_dlmag.io.read_map, from the 8 "
                    "rotations and flips of the image (8 times slower)",
                ),
                Option(
                    "sign_symmetric",
                    bool,
                    default=True,
                    help="run the network once only, not also on -B (twice as fast; the network's own offset of "
                    "a few G near the limb stays)",
                ),
            ),
        ),
        Task(
            "farside",
            "magnetograms from STEREO/EUVI or SDO/AIA EUV images (AISFM; for a model of several channels, one "
            "file per channel, matched by spacecraft and time within 1 h)",
            "sunpy_dlmag.tasks:_farside",
            options=(
                Option(
                    "model",
                    default="aisfm-v1",
                    help="registered farside model (aisfm-v1: EUV 304), or an ONNX file you trained and exported "
                    "(any channels); no farside weights ship: see `sunpy-dlmag models info aisfm-v1`",
                ),
                Option("reference", help="frontside magnetogram FITS file, for reference-input models"),
                Option(
                    "calibrate",
                    bool,
                    default=True,
                    help="skip the EUVI-to-AIA intensity cross-calibration (warns; only for inputs already calibrated)",
                ),
                Option(
                    "calibration",
                    help="ECSV file of EUVI-to-AIA calibrations you derived (`sunpy-dlmag derive-calibration`); "
                    "they take precedence over the packaged ones",
                ),
                *_NETWORK,
            ),
        ),
        Task(
            "drawing",
            "magnetograms from sunspot drawings (PNG, JPEG or TIFF scans)",
            "sunpy_dlmag.drawings:drawing_to_magnetogram",
            reader="sunpy_dlmag.drawings:read_drawing",
            suffixes=DRAWING_SUFFIXES,
            reads="drawing images",
            options=(
                Option(
                    "date",
                    required=True,
                    to_reader=True,
                    help="date and time of the drawing (ISO, e.g. 1612-05-03T12:00)",
                ),
                Option(
                    "north_angle",
                    float,
                    default=0.0,
                    units="deg",
                    to_reader=True,
                    help="angle of north on the image, counter-clockwise from up, as the image is seen",
                ),
                Option(
                    "mirrored",
                    bool,
                    default=False,
                    to_reader=True,
                    help="the drawing is a mirror image (e.g. a projection)",
                ),
                Option(
                    "north",
                    default="solar",
                    choices=("solar", "celestial"),
                    to_reader=True,
                    help="the north --north-angle gives",
                ),
                Option(
                    "method",
                    default="bipole",
                    choices=("bipole", "model"),
                    help="bipole: one bipole per spot group, no training needed; model: the drawing network",
                ),
                Option("model", help="an ONNX file of the drawing network you trained and exported"),
                _DEVICE,
                Option("flux_factor", float, default=1.0, help="scale the flux of every bipole"),
                # How the spots are found (bipole): detect_sunspots's keywords, at its defaults.
                Option("threshold", float, default=0.3, help="ink depth, fraction of the paper level"),
                Option(
                    "label_distance",
                    _label_distance,
                    default="auto",
                    help="keep the groups with a handwritten label this near (fraction of the radius); auto: drop "
                    "lone unlabelled dots on forms that label groups; off: keep every group",
                ),
                Option(
                    "core_contrast",
                    float,
                    default=0.1,
                    help="split marks at dark cores this much deeper than the ink between them (1: never)",
                ),
                Option("group_distance", float, default=10.0, units="deg", help="largest distance within a group"),
                Option(
                    "leading_polarity",
                    int,
                    choices=(1, -1),
                    help="sign of the leading polarity in the northern hemisphere, for dates whose solar cycle "
                    "is unknown",
                ),
            ),
        ),
    ]
}
