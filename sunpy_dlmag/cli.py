"""
The ``sunpy-dlmag`` command line: parses arguments and calls the public API.
"""

import argparse
import os
import sys
from pathlib import Path

__all__ = ["main"]


def _models_list(args):
    from sunpy_dlmag.models import get_model, list_models, weights_status

    rows = [(name, get_model(name)) for name in list_models(task=args.task)]
    lines = [f"{'name':<15} {'task':<9} {'inputs':<62} {'weights':<14}"]
    for name, spec in rows:
        inputs = ", ".join(c.label.replace(" Angstrom", "") for c in spec.inputs)
        lines.append(f"{name:<15} {spec.task:<9} {inputs:<62} {weights_status(spec):<14}")
    try:
        print("\n".join(lines), flush=True)
    except BrokenPipeError:
        # `models list | head`: the reader has what it wanted. Python's exit flush would fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _models_info(args):
    import dataclasses

    from sunpy_dlmag.models import get_model
    from sunpy_dlmag.models.registry import read_spec_for, sha256sum

    if Path(args.name).is_file():
        # The card of this file: its own sha256, whatever (if anything) the spec records.
        spec = read_spec_for(args.name)
        spec = dataclasses.replace(spec, weights=dataclasses.replace(spec.weights, sha256=sha256sum(args.name)))
    else:
        spec = get_model(args.name)
    print(spec.summary())
    return 0


def _refuse_existing(*paths, overwrite):
    """Refuse outputs that exist, naming the flag, before any work (not after minutes of it)."""
    from sunpy_dlmag.exceptions import OutputExistsError

    if overwrite:
        return
    for path in paths:
        if path is not None and Path(path).exists():
            raise OutputExistsError(f"{path} exists; pass --overwrite to replace it.")


def _demo(args):
    from sunpy_dlmag.demo import SUMMARY_NAME, run_demo

    _refuse_existing(Path(args.out) / SUMMARY_NAME, overwrite=args.overwrite)
    run_demo(args.out, device=args.device, overwrite=True)
    return 0


# --------------------------------------------------------------------------- file commands
# Capabilities that turn one file into one output map (sunpy_dlmag.tasks): each has a command of
# its own (`sunpy-dlmag NAME INPUT... --out`) and a batch task (`sunpy-dlmag batch NAME`), both
# built from the task's declared options. To add an option or a capability, declare it there.
def _add_task_options(parser, task, names=None):
    """The options of a task as flags (only those of ``names``, if given)."""
    for option in task.options:
        if names is not None and option.name not in names:
            continue
        if option.type is bool and option.default is None:
            # Three states: --name, --no-name, or neither (the function decides, e.g. from the data).
            parser.add_argument(
                option.flag,
                dest=option.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=option.help_text,
            )
        elif option.type is bool:
            action = "store_false" if option.default else "store_true"
            parser.add_argument(option.flag, dest=option.name, action=action, help=option.help_text)
        else:
            parser.add_argument(
                option.flag,
                dest=option.name,
                type=option.type,
                default=option.default,
                choices=option.choices,
                required=option.required,
                nargs=option.nargs,
                metavar=option.metavar or (option.units.upper() if option.units else None),
                help=option.help_text,
            )


def _task_options(args, task):
    return {option.name: getattr(args, option.name) for option in task.options}


def _drawing_check(path, png, options, overwrite):
    """The drawing's limb fit and the verdict on each mark (`sunpy_dlmag.drawings.plot_candidates`), as a PNG."""
    import inspect

    from sunpy_dlmag.drawings import plot_candidates, spot_candidates
    from sunpy_dlmag.io import write_atomic
    from sunpy_dlmag.plotting import DPI
    from sunpy_dlmag.tasks import get_task

    task = get_task("drawing")
    # The same detection options as the magnetogram's spots.
    values = task.values(options)
    detection = {name: values[name] for name in inspect.signature(spot_candidates).parameters if name in values}
    figure = plot_candidates(task.read(path, **options), **detection).figure
    write_atomic(png, lambda tmp: figure.savefig(tmp, format="png", dpi=DPI), overwrite=overwrite)


def _candidates_png(output):
    """The check figure of a drawing written to ``output``."""
    from sunpy_dlmag.io import fits_stem

    return output.with_name(f"{fits_stem(output.name)}_candidates.png")


def _file_command(args):
    from sunpy_dlmag.batch import find_inputs, output_path, process_outputs, quicklook_path
    from sunpy_dlmag.io import is_fits_name
    from sunpy_dlmag.tasks import get_task

    task = get_task(args.command)
    options = _task_options(args, task)
    inputs = find_inputs(args.inputs, suffixes=task.suffixes)
    out = Path(args.out)
    single = is_fits_name(out)
    setup_errors = _setup_errors()
    failed = []
    items, unmatched = ([inputs] if task.combines else inputs), []
    if task.name == "farside":
        from sunpy_dlmag.farside import group_observations
        from sunpy_dlmag.tasks import farside_calibrate

        # A missing or bad calibration file fails once, before any work.
        farside_calibrate(options["calibration"], options["calibrate"])
        # A model of several channels takes one file per channel, matched by spacecraft and time.
        groups, unmatched = group_observations(inputs, model=options["model"])
        if unmatched or (groups and len(groups[0]) > 1):  # only models of several channels leave files out
            items = groups
    if options.get("template") is not None:
        from sunpy_dlmag.drawings.template import read_template

        # A missing or bad template fails once, before any work; it is read once for all files.
        options["template"] = read_template(options["template"])
    if single and len(items) + len(unmatched) > 1:
        print(
            f"sunpy-dlmag: error: --out {out} is one file, but there are {len(items) + len(unmatched)} inputs; "
            "give a folder.",
            file=sys.stderr,
        )
        return 2
    further = [options[o.name] for o in task.options if o.output]
    if single:  # one output: refused before any work, as a usage error
        figures = (quicklook_path(out), *([_candidates_png(out)] if task.name == "drawing" else [])) if args.png else ()
        _refuse_existing(out, *figures, *further, overwrite=args.overwrite)
    if unmatched:
        for path, why in unmatched:
            print(f"sunpy-dlmag: error: {path}: {why} (ChannelMismatchError)", file=sys.stderr)
            failed.append((path, "ChannelMismatchError"))
    for item in items:
        path = item[0] if isinstance(item, list) else item
        output = out if single else output_path(task, path, out)
        try:
            compress = False if args.plain_fits else None  # None: tile-compressed where the input is
            result, extra = process_outputs(
                task, item, output, overwrite=args.overwrite, quicklook=args.png, compress=compress, **options
            )
            if args.png and task.name == "drawing":
                _drawing_check(path, _candidates_png(output), options, args.overwrite)
        except setup_errors:
            raise  # the model, the device or the installation, not this file: every file would fail
        except Exception as err:
            # A problem of this file (unreadable, not a magnetogram, no calibration for its spacecraft,
            # output exists): go on with the others.
            print(f"sunpy-dlmag: error: {path}: {_cli_message(err)} ({type(err).__name__})", file=sys.stderr)
            failed.append((path, type(err).__name__))
            continue
        shown = " + ".join(map(str, item)) if isinstance(item, list) else path
        written = [quicklook_path(output).name] if args.png else []
        written += [str(p) for p in further if p]
        print(f"{shown} -> {output}" + (f" and {', '.join(written)}" if written else ""))
        if task.report is not None:
            print(f"  {task.report(result, extra)}")
    written = len(items) - (len(failed) - len(unmatched))
    what = "observation(s)" if items is not inputs else "file(s)"
    print(f"{task.name}: {len(items) + len(unmatched)} {what}: {written} written, {len(failed)} failed")
    for path, error in failed:
        print(f"  failed: {path} ({error})")
    return 1 if failed else 0


def _setup_errors():
    from sunpy_dlmag import exceptions as e

    # Arguments are the same for every file (a bad --out name, tile size, option value).
    return (
        e.InvalidArgumentError,
        e.UnknownModelError,
        e.WeightsNotInstalledError,
        e.WeightsHashMismatchError,
        e.ModelInputMismatchError,
        e.InvalidModelSpecError,
        e.DeviceNotAvailableError,
        e.MissingDependencyError,
    )


def _cli_message(err):
    """The message of an error, with the command line's flags in place of the Python remedies."""
    from sunpy_dlmag.exceptions import CalibrationNotAvailableError

    if isinstance(err, CalibrationNotAvailableError) and getattr(err, "reason", None):
        return (
            f"{err.reason} Derive one from a co-temporal full-disk EUVI and AIA pair with "
            "`sunpy-dlmag derive-calibration EUVI_FILE AIA_FILE --out cal.ecsv` and pass --calibration cal.ecsv, "
            "or pass --no-calibrate to feed uncalibrated intensities (not recommended)."
        )
    return str(err)


def _derive_calibration(args):
    from pathlib import Path

    import sunpy.map

    from sunpy_dlmag.calibration import derive_calibration, write_calibrations
    from sunpy_dlmag.exceptions import InvalidArgumentError, OutputExistsError

    if len(args.files) % 2:
        raise InvalidArgumentError(
            f"derive-calibration takes pairs of files, EUVI then AIA; got {len(args.files)} file(s)."
        )
    if Path(args.out).exists() and not args.overwrite:  # before any work, not after it
        raise OutputExistsError(f"{args.out} exists; pass --overwrite to replace it.")
    calibrations = []
    for euvi, aia in zip(args.files[::2], args.files[1::2], strict=True):
        calibration = derive_calibration(
            sunpy.map.Map(euvi), sunpy.map.Map(aia), min_mu=args.min_mu, fit_exponent=args.fit_exponent
        )
        print(calibration)
        calibrations.append(calibration)
    write_calibrations(calibrations, args.out, overwrite=args.overwrite)
    print(f"{len(calibrations)} calibration(s) -> {args.out}  (use: sunpy-dlmag farside ... --calibration {args.out})")
    return 0


def _add_calibration_command(sub):
    command = sub.add_parser(
        "derive-calibration",
        help="derive EUVI-to-AIA intensity calibrations from co-temporal full-disk pairs, for farside --calibration",
        description="Derive the EUVI -> AIA intensity relation of each pair of co-temporal full-disk images "
        "(EUVI then AIA of the corresponding passband: 171-171, 195-193, 304-304) by matching their on-disk "
        "intensity distributions (sunpy_dlmag.calibration.derive_calibration), and write them, one row per "
        "spacecraft and passband, to an ECSV file for `sunpy-dlmag farside --calibration`.",
    )
    command.add_argument("files", nargs="+", metavar="EUVI AIA", help="pairs of FITS files: EUVI, then AIA")
    command.add_argument("--out", required=True, help="the ECSV file to write")
    command.add_argument("--min-mu", type=float, default=0.3, help="smallest mu of the pixels used (default 0.3)")
    command.add_argument("--fit-exponent", action="store_true", help="fit a power law, not only a scale factor")
    command.add_argument("--overwrite", action="store_true", help="replace an existing file")
    command.set_defaults(func=_derive_calibration)


def _batch(args):
    from sunpy_dlmag.batch import run_batch
    from sunpy_dlmag.tasks import get_task

    options = _task_options(args, get_task(args.task))
    try:
        table = run_batch(
            args.task,
            args.inputs,
            args.out,
            workers=args.workers,
            scheduler=args.scheduler,
            overwrite=args.overwrite,
            quicklook=args.png,
            progress=not args.quiet,
            **options,
        )
    except ValueError as err:  # checked before any work: e.g. two inputs with the same output name
        print(f"sunpy-dlmag: error: {err}", file=sys.stderr)
        return 2
    for row in table[table["status"] == "failed"]:
        message = " ".join(str(row["error"]).split())  # one line per file; the manifest has it as raised
        print(f"failed: {row['input']}: {row['error_type']}: {message}", file=sys.stderr)
    print(table.meta["summary"])
    return 1 if table.meta["failed"] else 0


def _add_file_commands(sub):
    from sunpy_dlmag.tasks import TASKS, list_tasks

    for name, declared in TASKS.items():
        what = declared.description
        if declared.combines:
            how = (
                f"Reads the inputs ({declared.reads}) and writes the one result atomically to OUT (a .fits file "
                f"name), or to OUT/<stem of the first input>_{name}.fits."
            )
        else:
            how = (
                f"Reads each input ({declared.reads}), writes the result atomically to OUT/<stem>_{name}.fits (or "
                "to OUT itself if it is a FITS file name and there is one input). A file that fails is reported "
                "and the others go on; the exit status is 1 if any failed. For many files on several cores or a "
                f"cluster, see `sunpy-dlmag batch {name}`."
            )
        command = sub.add_parser(
            name,
            help=f"{what}: {declared.reads} in, FITS (and PNG) out",
            description=f"{what[0].upper()}{what[1:]}. {how}",
        )
        reads = declared.reads
        command.add_argument("inputs", nargs="+", metavar="INPUT", help=f"{reads}, folders or glob patterns")
        command.add_argument(
            "--out",
            required=True,
            help="output folder, or the output .fits (.fits.gz) file" + ("" if declared.combines else " for one input"),
        )
        _add_task_options(command, declared)
        command.add_argument("--png", action="store_true", help="also write a PNG quick-look beside each output")
        command.add_argument(
            "--plain-fits",
            action="store_true",
            help="write plain FITS (default: tile-compressed, RICE in 0.01 G steps, where the input is, as HMI)",
        )
        command.add_argument("--overwrite", action="store_true", help="replace existing outputs")
        command.set_defaults(func=_file_command)

    batch = sub.add_parser(
        "batch",
        help="run a task on many files on a Dask cluster (needs the dask extra)",
        description="Run a task on many files, one Dask task per file, on a local cluster of worker processes "
        "(one thread each) or on a running Dask scheduler. Outputs are written atomically to "
        "OUT/<stem>_<task>.fits; existing outputs are skipped, so the same command resumes an interrupted run; "
        "a file that fails is recorded in OUT/batch_manifest.csv with its error and never stops the others. "
        "The exit status is 1 if any file failed.",
    )
    tasks = batch.add_subparsers(dest="task", required=True, metavar="TASK")
    for name in list_tasks(per_file=True):
        declared = TASKS[name]
        what = declared.description
        task = tasks.add_parser(
            name,
            help=what,
            description=f"Run the task {name!r} on many files on Dask: {what}. One Dask task per file, writing "
            f"OUT/<stem>_{name}.fits. Existing outputs are skipped; failures are recorded in "
            "OUT/batch_manifest.csv and never stop the others; the exit status is 1 if any file failed.",
        )
        reads = declared.reads
        task.add_argument("inputs", nargs="+", metavar="INPUT", help=f"{reads}, folders or glob patterns")
        task.add_argument(
            "--out", required=True, help="output folder; the manifest batch_manifest.csv is written there"
        )
        where = task.add_mutually_exclusive_group()
        where.add_argument(
            "--workers",
            type=int,
            metavar="N",
            help="worker processes of the local cluster (default: one per core, at most one per file)",
        )
        where.add_argument(
            "--scheduler", metavar="ADDRESS", help="address of a running Dask scheduler, e.g. tcp://host:8786"
        )
        _add_task_options(task, declared)
        task.add_argument("--png", action="store_true", help="also write a PNG quick-look beside each output")
        task.add_argument("--overwrite", action="store_true", help="process every file again, replacing outputs")
        task.add_argument("--quiet", action="store_true", help="no progress bar")
        task.set_defaults(func=_batch)


# The drawing task's options that can change a count or a position: the same flags as `sunpy-dlmag drawing`.
_COUNT_OPTIONS = (
    "north_angle", "mirrored", "north", "threshold", "label_distance", "core_contrast", "mark_classifier",
    "group_distance",
)  # fmt: skip


def _counts(args):

    from sunpy_dlmag.batch import find_inputs
    from sunpy_dlmag.drawings.counts import count_drawings, write_counts
    from sunpy_dlmag.tasks import get_task

    task = get_task("drawing")
    _refuse_existing(args.out, overwrite=args.overwrite)
    options = [task.option(name) for name in _COUNT_OPTIONS]
    read = {o.name: o.value(getattr(args, o.name)) for o in options if o.to_reader}
    detection = {o.name: o.value(getattr(args, o.name)) for o in options if not o.to_reader}
    inputs = find_inputs(args.inputs, suffixes=task.suffixes)
    template = None if args.template == "none" else args.template
    table = count_drawings(
        inputs, dates=args.dates, progress=not args.quiet, read_options=read, template=template, **detection
    )
    write_counts(table, args.out, overwrite=args.overwrite)
    for row in table[table["status"] != "ok"]:
        print(f"failed: {row['file']}: {row['error']}", file=sys.stderr)
    print(
        f"counts: {len(table)} drawing(s): {len(table) - table.meta['failed']} counted, "
        f"{table.meta['failed']} failed -> {args.out}"
    )
    return 1 if table.meta["failed"] else 0


def _add_counts_command(sub):
    from sunpy_dlmag.tasks import get_task

    counts = sub.add_parser(
        "counts",
        help="sunspot counts (groups g, spots f, Wolf number R = 10 g + f) of many drawings to one CSV",
        description="Count the sunspot groups g and spots f of each drawing and its Wolf number R = 10 g + f "
        "(sunpy_dlmag.drawings.count_drawings), and write one CSV row per drawing (file, date, g, f, R, status, "
        "error), atomically. Dates come from --dates or from the file names (YYYYMMDDHHMM, as Uccle's "
        "usd194808011030.jpg). A file that fails gets its error in its row and the others go on; the exit "
        "status is 1 if any failed.",
    )
    counts.add_argument("inputs", nargs="+", metavar="INPUT", help="drawing images, folders or glob patterns")
    counts.add_argument("--out", required=True, help="the CSV file to write")
    counts.add_argument(
        "--dates",
        help="CSV with file and date (or date_utc) columns; files it does not list take the date in their name",
    )
    counts.add_argument(
        "--template",
        default="auto",
        metavar="auto|none|FILE",
        help="marks that most scans of one size show at the same place (print, scanner dust) are not spots: "
        "'auto' (default) takes the median of the scans of each size that 5 files or more have; FILE: that template "
        "image for every drawing (`sunpy-dlmag form-template`); 'none': no template",
    )
    _add_task_options(counts, get_task("drawing"), _COUNT_OPTIONS)
    counts.add_argument("--overwrite", action="store_true", help="replace an existing CSV")
    counts.add_argument("--quiet", action="store_true", help="no progress bar")
    counts.set_defaults(func=_counts)


def _form_template(args):
    from PIL import Image

    from sunpy_dlmag.batch import find_inputs
    from sunpy_dlmag.drawings import form_template
    from sunpy_dlmag.io import write_atomic
    from sunpy_dlmag.tasks import get_task

    _refuse_existing(args.out, overwrite=args.overwrite)
    inputs = find_inputs(args.inputs, suffixes=get_task("drawing").suffixes)
    template = form_template(inputs, max_forms=args.max_forms)
    write_atomic(args.out, lambda tmp: Image.fromarray(template).save(tmp, format="PNG"), overwrite=args.overwrite)
    print(f"form-template: the median of {min(len(inputs), args.max_forms)} of {len(inputs)} scan(s) -> {args.out}")
    return 0


def _add_form_template_command(sub):
    from sunpy_dlmag.drawings.template import MAX_FORMS

    command = sub.add_parser(
        "form-template",
        help="the template of a form layout (median of its scans) for --template of drawing, batch and counts",
        description="Write the pixel-wise median of scans of one form layout, all of one size, as a PNG "
        "(sunpy_dlmag.drawings.form_template): it holds what most scans show at the same place (the printed "
        "form, dust on the scanner) and no drawn spot. Pass it as --template to `sunpy-dlmag drawing`, `batch "
        "drawing` or `counts`: marks on its ink are not spots.",
    )
    command.add_argument("inputs", nargs="+", metavar="INPUT", help="5 scans or more: images, folders or globs")
    command.add_argument("--out", required=True, help="the PNG file to write")
    command.add_argument(
        "--max-forms", type=int, default=MAX_FORMS, help=f"the most scans the median takes (default: {MAX_FORMS})"
    )
    command.add_argument("--overwrite", action="store_true", help="replace an existing file")
    command.set_defaults(func=_form_template)


def build_parser():
    from sunpy_dlmag.tasks import get_task
    from sunpy_dlmag.training.commands import add_training_commands

    parser = argparse.ArgumentParser(
        prog="sunpy-dlmag",
        description="Deep-learning image translation for solar data (sunpy-dlmag).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = sub.add_parser(
        "models",
        help="list the registered networks or describe one",
        description="List the registered networks (`models list`) or print the model card of one "
        "(`models info NAME`): its task, inputs, geometry, normalisation, training data, scores and "
        "whether its weights are installed. Needs no weights.",
    )
    models_sub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    listing = models_sub.add_parser("list", help="registered models, their inputs and whether weights are installed")
    listing.add_argument("--task", help="only models for this task (farside, denoise, drawing)")
    listing.set_defaults(func=_models_list)
    info = models_sub.add_parser("info", help="the model card of one model: geometry, normalisation, data, scores")
    info.add_argument("name", help="registered model name, or the path of an ONNX file with its spec")
    info.set_defaults(func=_models_info)

    _add_file_commands(sub)
    _add_counts_command(sub)
    _add_form_template_command(sub)
    _add_calibration_command(sub)

    demo = sub.add_parser(
        "demo",
        help="run what the package can do on its bundled real data; writes FITS, figures and a summary",
        description="Run what the package can do on the real data bundled with it: the geometry round trip "
        "of a SOHO/MDI magnetogram through the AISFM model frame, denoising with the shipped denoise-m2 "
        "weights, a synchronic map and PFSS from the GONG map of 2018-11-06, and the bipole magnetogram of "
        "a sunspot drawing. Writes FITS files, demo.png and summary.json to OUT.",
    )
    demo.add_argument("--out", default="demo-output", help="folder for the outputs (default: ./demo-output)")
    _add_task_options(demo, get_task("denoise"), ("device",))  # where its networks run
    demo.add_argument("--overwrite", action="store_true", help="replace the outputs of an earlier run in OUT")
    demo.set_defaults(func=_demo)

    add_training_commands(sub)
    return parser


def _version():
    from sunpy_dlmag.version import version

    return version


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    from sunpy_dlmag.exceptions import DlmagError

    try:
        return args.func(args)
    except (DlmagError, OSError, ImportError) as err:
        # Errors of the user's setup or inputs: a message, no traceback.
        print(f"sunpy-dlmag: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sunpy-dlmag: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
