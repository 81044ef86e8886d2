"""
Write the table of ``benchmarks/speed.py`` into the docs, so no figure there is older than a run.

    python benchmarks/speed.py             # writes benchmarks/results/speed.json
    python benchmarks/write_docs.py        # writes docs/performance_speed.inc from it

``docs/dev/performance_notes.rst`` includes the file; commit both after a run.
"""

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "results" / "speed.json"
TARGET = HERE.parent / "docs" / "performance_speed.inc"


def _number(value):
    if value is None:
        return ""
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def _text(value):
    """Plain text for a table cell: ``|`` would start a substitution in reStructuredText."""
    return str(value).replace("|", "\\|")


def render(record):
    machine = record["machine"]
    lines = [
        ".. This file is written by benchmarks/write_docs.py from benchmarks/results/speed.json; do not edit.",
        "",
        f".. list-table:: ``python benchmarks/speed.py``, {record['date']}, commit {record['commit']}, "
        f"{machine['cpus']} CPU cores, {record['seconds'] / 60:.0f} min",
        "   :header-rows: 1",
        "   :widths: 40 12 12 10 14 8",
        "",
        "   * - What",
        "     - A",
        "     - B",
        "     - Ratio",
        "     - Target",
        "     - Met",
    ]
    for what, a, b, ratio, target, met in record["rows"]:
        cells = [_text(what), _number(a), _number(b), _number(ratio), _text(target), "yes" if met else "**no**"]
        lines += [f"   {'*' if i == 0 else ' '} - {cell}".rstrip() for i, cell in enumerate(cells)]
    loads = {key: value["load"] for key, value in record.items() if isinstance(value, dict) and "load" in value}
    if loads:
        shown = ", ".join(f"{key.replace('_', ' ')} {a:.1f}-{b:.1f}" for key, (a, b) in loads.items())
        lines += ["", f"1-min load average of the machine before and after each case (2 cores): {shown}."]
    if "int8_rerun" in record:
        rerun = record["int8_rerun"]
        lines += ["", f"The int8 rows were measured again on {rerun['date']} (commit {rerun['commit']}), after the"]
        lines += ["last change to the int8 recipe; the others come from the full run."]
    if "tiling_rerun" in record:
        lines += ["", f"The first three rows were measured again on {record['tiling_rerun']}, after the last change"]
        lines += ["to the tiled path; the others come from the full run."]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=TARGET)
    args = parser.parse_args()
    args.out.write_text(render(json.loads(args.json.read_text())))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
