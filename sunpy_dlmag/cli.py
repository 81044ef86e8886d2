"""
The ``sunpy-dlmag`` command line: parses arguments and calls the public API.
"""

import argparse
import sys

__all__ = ["main"]


def _models_list(args):
    from sunpy_dlmag.models import get_model, list_models, weights_status

    rows = [(name, get_model(name)) for name in list_models(task=args.task)]
    print(f"{'name':<12} {'task':<9} {'inputs':<62} {'weights':<14}")
    for name, spec in rows:
        inputs = ", ".join(c.label.replace(" Angstrom", "") for c in spec.inputs)
        print(f"{name:<12} {spec.task:<9} {inputs:<62} {weights_status(spec):<14}")
    return 0


def _models_info(args):
    from pathlib import Path

    from sunpy_dlmag.models import get_model
    from sunpy_dlmag.models.registry import read_spec_for

    spec = read_spec_for(args.name) if Path(args.name).is_file() else get_model(args.name)
    print(spec.summary())
    return 0


def _demo(args):
    from sunpy_dlmag.demo import run_demo

    run_demo(args.out, device=args.device)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sunpy-dlmag",
        description="Deep-learning image translation for solar data (sunpy-dlmag).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = sub.add_parser("models", help="list the registered networks or describe one")
    models_sub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    listing = models_sub.add_parser("list", help="registered models, their inputs and whether weights are installed")
    listing.add_argument("--task", help="only models for this task (farside, denoise, drawing)")
    listing.set_defaults(func=_models_list)
    info = models_sub.add_parser("info", help="the model card of one model: geometry, normalisation, data, scores")
    info.add_argument("name", help="registered model name, or the path of an ONNX file with its spec")
    info.set_defaults(func=_models_info)

    demo = sub.add_parser(
        "demo",
        help="run what the package can do on its bundled real data; writes FITS, figures and a summary",
    )
    demo.add_argument("--out", default="demo-output", help="folder for the outputs (default: ./demo-output)")
    demo.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where networks run")
    demo.set_defaults(func=_demo)
    return parser


def _version():
    from sunpy_dlmag import __version__

    return __version__


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    from sunpy_dlmag.exceptions import DlmagError

    try:
        return args.func(args)
    except DlmagError as err:
        print(f"sunpy-dlmag: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
