"""
The file-level capabilities, each declared once: what it reads, its options and what it writes.

A `Task` turns input files into an output map, written as FITS (by its ``writer``). The
command line (``sunpy-dlmag denoise INPUT... --out``, ``sunpy-dlmag batch denoise``) and the
batch runner (`sunpy_dlmag.batch.run_batch`) both take their tasks from the one registry
`TASKS` and build their arguments from the task's options. The options of a capability are
read from its function (`options_of`): name, default, type and units from the signature,
choices and help from the numpydoc Parameters section. Only what a function does not take
(a file that holds a map, the reader of a file) is declared here as an `Option` of its own.
"""

import ast
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import astropy.units as u

from sunpy_dlmag import io
from sunpy_dlmag.denoise import denoise
from sunpy_dlmag.drawings import detect_sunspots, drawing_to_magnetogram, read_drawing
from sunpy_dlmag.exceptions import ArgumentTypeError, InvalidArgumentError
from sunpy_dlmag.farside import farside_magnetogram
from sunpy_dlmag.io import FITS_SUFFIXES, save_map
from sunpy_dlmag.pfss import open_field_fraction, open_field_map, pfss_extrapolate
from sunpy_dlmag.synchronic import synchronic_map

__all__ = [
    "DRAWING_SUFFIXES",
    "TASKS",
    "Option",
    "Task",
    "get_task",
    "list_tasks",
    "options_of",
    "register_task",
]

#: File name endings of drawing scans.
DRAWING_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


@dataclass(frozen=True)
class Option:
    """
    One option of a task: a keyword of the capability, a ``--flag`` of the command line.

    Options of a function's parameters come from `options_of`; declare one by hand only for
    what no function takes.

    Parameters
    ----------
    name : str
        Option name (``tile_size``); the flag is ``--tile-size``. A `bool` option that is
        True by default is turned off with ``--no-<name>``.
    type : callable
        Turns the text of the command line into the value (`str`, `int`, `float`, `bool`, ...).
    default : object
        Value when not given (as the command line takes it: a number for ``units``).
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
    nargs : int or str, optional
        Number of values (``2`` for a shape, ``"*"`` for a list of files).
    metavar : str or tuple, optional
        Name of the value in ``--help``.
    output : bool
        The value is the path of a further output map (e.g. synchronic ``--sources``), not
        passed to the capability.
    function : callable, optional
        The function whose parameter this is (None for an option declared by hand).
    parameter : str, optional
        That function's keyword, where the option is named otherwise (``--open-shape`` for
        `~sunpy_dlmag.pfss.open_field_map`'s ``shape``).
    """

    name: str
    type: Callable = str
    default: object = None
    help: str = ""
    units: str | None = None
    choices: tuple | None = None
    required: bool = False
    to_reader: bool = False
    nargs: int | str | None = None
    metavar: str | tuple | None = None
    output: bool = False
    function: Callable | None = field(default=None, compare=False)
    parameter: str | None = None

    @property
    def flag(self):
        """The command-line flag."""
        dashed = self.name.replace("_", "-")
        return f"--no-{dashed}" if self.type is bool and self.default else f"--{dashed}"

    @property
    def help_text(self):
        """``help`` with the units and the default, for ``--help``."""
        text = self.help
        if self.type is bool and self.default:  # the flag turns off what the text describes
            text = f"turn off {self.name}: {text}"
        if self.units:
            text += f" [{self.units}]"
        if self.type is not bool and self.default not in (None, ()) and not self.required:
            default = " ".join(map(str, self.default)) if isinstance(self.default, tuple) else self.default
            text += f" (default {default})"
        return text

    def value(self, given):
        """The value the capability receives: with its units, a tuple for several values."""
        if given is None:
            return None
        if isinstance(given, list):
            given = tuple(given)
        if self.units:
            return u.Quantity(given, self.units)
        return given


# --------------------------------------------------------------------------- options from functions
def _parameter_docs(function):
    """``{name: (type, description)}`` of a numpydoc Parameters section."""
    lines = (inspect.getdoc(function) or "").splitlines()
    docs, names = {}, []
    for i, line in enumerate(lines):
        if line.strip() == "Parameters" and i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}:
            body = lines[i + 2 :]
            break
    else:
        return docs
    for i, line in enumerate(body):
        if i + 1 < len(body) and body[i + 1].strip() and set(body[i + 1].strip()) == {"-"}:
            break  # the next section
        if line and not line[0].isspace():
            entry, _, kind = line.partition(" : ")
            names = [n.strip() for n in entry.split(",")]
            for name in names:
                docs[name] = (kind.strip(), [])
        elif line.strip():
            for name in names:
                docs[name][1].append(line.strip())
    return {name: (kind, " ".join(text)) for name, (kind, text) in docs.items()}


def _plain(text):
    """Numpydoc text as ``--help`` shows it: no reST markup; ``%`` escaped for argparse."""
    text = re.sub(r"``([^`]*)``", r"\1", text)
    text = re.sub(r"(?::\w+:)?`~[\w.]*?\.?(\w+)`", r"\1", text)  # `~a.b.c` -> c
    text = re.sub(r"(?::\w+:)?`([^`]*)`", r"\1", text)
    return text.replace("%", "%%")


def _choices(kind):
    """The values of a numpydoc type ``{"a", "b"}``, in order (None if it is not one)."""
    if not kind.startswith("{"):
        return None
    return ast.literal_eval(f"({kind[1 : kind.index('}')]},)")


_TYPES = {"int": int, "float": float, "bool": bool, "str": str}


def options_of(function, *names, to_reader=False, types=None, **renames):
    """
    The options of a function's keyword parameters, as its signature and docstring give them.

    Parameters
    ----------
    function : callable
        A function with a numpydoc docstring.
    *names : str
        Its parameters to take, in the order of ``--help``.
    to_reader : bool
        The options go to the task's reader (see `Option`).
    types : dict, optional
        How to read the text of a parameter whose value is not of one type (e.g. a number
        or ``"auto"``), by name.
    **renames : str
        Option names of parameters named otherwise on the command line (``shape="open_shape"``).

    Returns
    -------
    tuple of `Option`
        Default from the signature (a parameter without one is required); units from a unit
        annotation (or a `~astropy.units.Quantity` default); choices from a type
        ``{"a", "b"}``; type from the default, or from the docstring's type; help from the
        description.
    """
    signature = inspect.signature(function).parameters
    docs = _parameter_docs(function)
    options = []
    for parameter in (*names, *renames):
        if parameter not in signature:
            raise InvalidArgumentError(f"{function.__qualname__} has no parameter {parameter!r}.")
        default = signature[parameter].default
        annotation = signature[parameter].annotation
        kind, description = docs.get(parameter, ("", ""))
        choices = _choices(kind)
        required = default is inspect.Parameter.empty
        default = None if required else default
        units = nargs = metavar = None
        if isinstance(annotation, u.UnitBase) or isinstance(default, u.Quantity):
            units = annotation if isinstance(annotation, u.UnitBase) else default.unit
            default = None if default is None else float(u.Quantity(default).to_value(units))
            units = units.to_string()
        if isinstance(default, tuple):
            nargs, typ = len(default), type(default[0])
            # The values' names where the description starts with them: "``(n_latitude, n_longitude)``".
            named = re.match(r"``\(([\w, ]+)\)``", description)
            names_of_values = named.group(1).split(", ") if named else []
            metavar = tuple(n.upper() for n in names_of_values) if len(names_of_values) == nargs else None
        elif choices:
            typ = type(choices[0])
        elif default is not None:
            typ = type(default)
        else:
            typ = float if units else _TYPES.get(re.split(r"[ ,]", kind)[0], str)
        if (types or {}).get(parameter):
            typ = types[parameter]
        options.append(
            Option(
                renames.get(parameter, parameter),
                typ,
                default,
                _plain(description),
                units=units,
                choices=choices,
                required=required,
                to_reader=to_reader,
                nargs=nargs,
                metavar=metavar,
                function=function,
                parameter=parameter,
            )
        )
    return tuple(options)


# --------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class Task:
    """
    A capability that turns input files into one output map.

    Calling a task, ``task(path, num_threads=None, **options)``, reads the file, runs the
    capability and returns the output `~sunpy.map.GenericMap`; `sunpy_dlmag.batch.process_file`
    writes it. A task holds module-level functions only, so it travels to Dask workers.

    Parameters
    ----------
    name : str
        Command name, and the end of output file names (``<stem>_<name>.fits``).
    function : callable
        The capability. With a ``reader``, ``function(inputs, num_threads=..., **options)``
        takes what the reader gives; without one, ``function(path, num_threads=..., **options)``
        reads the file itself. ``num_threads`` is the number of threads its networks may use.
        It must be importable on the workers: a module-level function of an installed package.
    description : str
        One line for ``--help``.
    suffixes : tuple of str
        File name endings taken from folders and globs (case-insensitive).
    reader : callable, optional
        Reads one file (or a list of files) with the options marked ``to_reader``.
    options : tuple of `Option`
        From `options_of`, and those no function takes.
    reads : str
        What the inputs are, for ``--help``.
    writer : callable
        Writes the output map, ``writer(smap, path, overwrite=...)``.
    combines : bool
        All inputs make one output (a synchronic map), not one output each.
    report : callable, optional
        ``report(result, extra_outputs)``: one line about the output for the command line.
    """

    name: str
    function: Callable
    description: str = ""
    suffixes: tuple = FITS_SUFFIXES
    reader: Callable | None = None
    options: tuple = ()
    reads: str = "FITS files"
    writer: Callable = save_map
    combines: bool = False
    report: Callable | None = None

    def __post_init__(self):
        names = [o.name for o in self.options]
        if len(set(names)) != len(names):
            raise InvalidArgumentError(f"Task {self.name!r} declares an option twice: {', '.join(names)}.")
        object.__setattr__(self, "suffixes", tuple(s.lower() for s in self.suffixes))

    def write(self, smap, path, *, overwrite=False, **options):
        """Write an output map with the task's writer (``options``, e.g. ``compress``, go to it)."""
        return self.writer(smap, path, overwrite=overwrite, **options)

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
        return self.reader(path, **{o.name: values[o.name] for o in self.options if o.to_reader})

    def run(self, path, *, num_threads=None, **options):
        """The output map and the further outputs (``{option name: map}``) of one input."""
        if self.reader is None:  # a function that reads its own file
            result = self.function(path, num_threads=num_threads, **(self.values(options) if self.options else options))
        else:
            values = self.values(options)
            keywords = {
                o.name: values[o.name] for o in self.options if not o.to_reader and not o.output and o.name in values
            }
            result = self.function(self.read(path, **options), num_threads=num_threads, **keywords)
        return result if isinstance(result, tuple) else (result, {})

    def __call__(self, path, *, num_threads=None, **options):
        return self.run(path, num_threads=num_threads, **options)[0]


#: The registered tasks, by name: those declared below, and any added with `register_task`.
TASKS = {}


def register_task(name, function, *, description="", suffixes=FITS_SUFFIXES, replace=False):
    """
    Add a task to the registry of `~sunpy_dlmag.batch.run_batch` (a `Task` of a function that reads its file).

    Parameters
    ----------
    name : str
        Task name (letters, digits, ``-`` and ``_``).
    function : callable
        ``function(path, *, num_threads, **options) -> GenericMap``; see `Task`.
    description : str
        One line for ``sunpy-dlmag batch --help``.
    suffixes : tuple of str
        File name endings taken from folders and globs.
    replace : bool
        Replace a task of the same name instead of raising.

    Returns
    -------
    `Task`

    Raises
    ------
    ValueError
        A name that is not a valid file name part, or one already registered.
    """
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise InvalidArgumentError(f"A task name may contain only letters, digits, '-' and '_'; got {name!r}.")
    if name in TASKS and not replace:
        raise InvalidArgumentError(
            f"A batch task named {name!r} is registered already; pass replace=True to replace it."
        )
    if not callable(function):
        raise ArgumentTypeError(f"The function of task {name!r} must be callable, got {type(function).__name__}.")
    task = Task(name, function, description, tuple(suffixes))
    TASKS[name] = task
    return task


def list_tasks(*, per_file=False):
    """Names of the registered tasks, sorted (with ``per_file``, only those that make one output per file)."""
    return sorted(name for name, task in TASKS.items() if not (per_file and task.combines))


def get_task(name):
    """
    The registered `Task` of a name (a `Task` is returned as it is).

    Raises
    ------
    ValueError
        An unknown name.
    """
    if isinstance(name, Task):
        return name
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        raise InvalidArgumentError(
            f"Unknown batch task {name!r}; the registered tasks are {', '.join(list_tasks())}."
        ) from None


# --------------------------------------------------------------------------- readers and wrappers
def _label_distance(text):
    """``--label-distance``: "auto", "off" (every group) or a fraction of the radius."""
    if text in ("auto", "off"):
        return None if text == "off" else text
    try:
        return float(text)
    except ValueError:
        raise ArgumentTypeError(f'label distance is "auto", "off" or a number, got {text!r}') from None


def _read_maps(path):
    """One file, or a list of them (one per channel, or the disk maps of a synchronic map)."""
    import sunpy.map

    return sunpy.map.Map(path)


#: Readers of global maps, by the name ``--reader`` takes.
_GLOBAL_READERS = {
    "map": _read_maps,
    "gong": io.read_gong_synoptic,
    "hmi-synchronic": io.read_hmi_synchronic,
    "adapt": io.read_adapt,
}


def _read_global(path, *, reader="map"):
    """A global map file, read with one of ``_GLOBAL_READERS``."""
    return _GLOBAL_READERS[reader](path)


def farside_calibrate(calibration, calibrate):
    """``calibrate`` of `~sunpy_dlmag.farside_magnetogram` from the options ``calibration`` (file) and ``calibrate``."""
    from sunpy_dlmag.calibration import read_calibrations

    if calibration is None:
        return calibrate
    if calibrate is False:
        raise InvalidArgumentError(
            f"--calibration {calibration} and --no-calibrate contradict each other; give one of them."
        )
    return read_calibrations(calibration)


def _farside(euv_map, *, reference, calibration, calibrate, **options):
    """`~sunpy_dlmag.farside_magnetogram` with the reference magnetogram and the calibrations given as files."""
    reference = _read_maps(reference) if reference is not None else None
    return farside_magnetogram(
        euv_map, reference=reference, calibrate=farside_calibrate(calibration, calibrate), **options
    )


def _synchronic(frontside, *, farside, background, background_reader, num_threads=None, **options):
    """`~sunpy_dlmag.synchronic_map` of maps given as files, with the map of where each pixel came from."""
    farside = [_read_maps(path) for path in farside]
    background = _read_global(background, reader=background_reader) if background else None
    smap, sources = synchronic_map(frontside, farside, background=background, return_sources=True, **options)
    return smap, {"sources": sources}


def _synchronic_report(smap, outputs):
    return f"{float((outputs['sources'].data > 0).mean()):.1%} of the surface comes from the disk maps"


def _open_field(smap, *, nrho, rss, open_shape, num_threads=None):
    """PFSS (`~sunpy_dlmag.pfss_extrapolate`) and its `~sunpy_dlmag.open_field_map`."""
    return open_field_map(pfss_extrapolate(smap, nrho=nrho, rss=rss), shape=open_shape)


def _open_field_report(open_map, outputs):
    return f"open field covers {open_field_fraction(open_map):.1%} of the surface"


def _global_reader(name, default, what, **kwargs):
    return Option(name, default=default, choices=tuple(_GLOBAL_READERS), help=f"how to read {what}", **kwargs)


def _map_file(name, help, **kwargs):
    """An option giving a map parameter of the capability as a file."""
    return Option(name, help=help, metavar="FILE", **kwargs)


_DEVICE_PRECISION = ("device", "precision")

for _task in [
    Task(
        "denoise",
        denoise,
        "denoise line-of-sight magnetograms (Park et al. 2020)",
        reader=_read_maps,
        options=options_of(
            denoise, "method", "model", *_DEVICE_PRECISION, "tile_size", "overlap", "uncertainty", "sign_symmetric"
        ),
    ),
    Task(
        "farside",
        _farside,
        "magnetograms from STEREO/EUVI or SDO/AIA EUV images (AISFM; for a model of several channels, one "
        "file per channel, matched by spacecraft and time within 1 h)",
        reader=_read_maps,
        options=(
            *options_of(farside_magnetogram, "model"),
            _map_file("reference", "frontside magnetogram FITS file, for reference-input models"),
            *options_of(farside_magnetogram, "calibrate"),
            _map_file(
                "calibration",
                "ECSV file of EUVI-to-AIA calibrations you derived (`sunpy-dlmag derive-calibration`); "
                "they take precedence over the packaged ones",
            ),
            *options_of(farside_magnetogram, *_DEVICE_PRECISION),
        ),
    ),
    Task(
        "drawing",
        drawing_to_magnetogram,
        "magnetograms from sunspot drawings (PNG, JPEG or TIFF scans)",
        DRAWING_SUFFIXES,
        reader=read_drawing,
        reads="drawing images",
        options=(
            *options_of(read_drawing, "date", "north_angle", "mirrored", "north", to_reader=True),
            *options_of(drawing_to_magnetogram, "method", "model", "device", "flux_factor"),
            # How the spots are found (bipole): detect_sunspots's keywords.
            *options_of(
                detect_sunspots,
                "threshold",
                "label_distance",
                "core_contrast",
                "mark_classifier",
                "group_distance",
                "template",
                types={"label_distance": _label_distance},
            ),
            *options_of(drawing_to_magnetogram, "leading_polarity"),
        ),
    ),
    Task(
        "synchronic",
        _synchronic,
        "merge full-disk magnetograms (observed and AI farside) into a Carrington CEA map of B_r",
        reader=_read_maps,
        reads="frontside magnetogram FITS files",
        combines=True,
        report=_synchronic_report,
        options=(
            _map_file("farside", "AI farside magnetograms", nargs="*", default=()),
            _map_file("background", "a synoptic or ADAPT map for what no disk map covers"),
            _global_reader("background_reader", "gong", "--background"),
            *options_of(synchronic_map, "time", "shape", "limb_cutoff"),
            _map_file("sources", "also write the map of where each pixel came from to this FITS file", output=True),
        ),
    ),
    Task(
        "pfss",
        _open_field,
        "PFSS (sunkit-magex) on a global map and its open-field (coronal hole) map: +1 open and positive, "
        "-1 open and negative, 0 closed",
        reader=_read_global,
        reads="global map FITS files",
        report=_open_field_report,
        options=(
            _global_reader("reader", "map", "INPUT (map: a synchronic map or any sunpy map)", to_reader=True),
            *options_of(pfss_extrapolate, "nrho", "rss"),
            *options_of(open_field_map, shape="open_shape"),
        ),
    ),
]:
    TASKS[_task.name] = _task
