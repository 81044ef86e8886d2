"""
Sphinx configuration of the sunpy-dlmag documentation.

The build works offline: intersphinx is only used when ``SUNPY_DLMAG_DOCS_ONLINE=1`` is set,
the gallery examples run on data bundled with the package, and no analytics script is added.

    cd docs && sphinx-build -W -b html . _build/html
"""

import os
from datetime import UTC, datetime
from pathlib import Path

# Before onnxruntime, sunpy or matplotlib are imported (autodoc and the gallery import them).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("MPLBACKEND", "agg")

import matplotlib

matplotlib.use("agg")

from docutils import statemachine
from sphinx.util.docutils import SphinxDirective

import sunpy_dlmag

DOCS_DIR = Path(__file__).parent.resolve()
REPO_DIR = DOCS_DIR.parent
ONLINE = os.environ.get("SUNPY_DLMAG_DOCS_ONLINE", "") == "1"

try:
    from astropy.utils import iers
    from astropy.utils.data import conf as astropy_data_conf

    # Never wait for IERS tables or other downloads: the docs and the gallery run offline.
    iers.conf.auto_download = False
    if not ONLINE:
        astropy_data_conf.allow_internet = False
except ImportError:  # pragma: no cover
    pass

# -- Project information ---------------------------------------------------------------------------
project = "sunpy-dlmag"
author = "The sunpy-dlmag developers"
copyright = f"{datetime.now(UTC).year}, {author}"
release = sunpy_dlmag.__version__
# The short X.Y version (without the ".devN+g..." part of a development build).
version = ".".join(release.split(".")[:2])

# -- General configuration -------------------------------------------------------------------------
extensions = [
    "sphinx_automodapi.automodapi",
    "sphinx_automodapi.smart_resolver",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]
try:
    import sphinx_changelog  # noqa: F401

    extensions.append("sphinx_changelog")
    HAVE_SPHINX_CHANGELOG = True
except ImportError:
    HAVE_SPHINX_CHANGELOG = False

source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
# Backticked names are Python objects, as in the sunpy and astropy docs.
default_role = "obj"
# Report every reference that does not resolve (``-n``), except those into other packages
# when intersphinx is off (offline builds).
nitpicky = True
nitpick_ignore_regex = []
if not ONLINE:
    _EXTERNAL = (
        "astropy", "dask", "matplotlib", "numpy", "onnx", "onnxruntime", "os", "pathlib", "reproject",
        "scipy", "sunkit_magex", "sunpy", "typing", "collections", "dataclasses", "json", "torch", "tqdm",
        "datetime", "PIL", "distributed",
    )  # fmt: skip
    nitpick_ignore_regex = [
        (r"py:.*", rf"({'|'.join(_EXTERNAL)})(\..*)?"),
        # Builtins (backticked `None`, base classes of the exceptions).
        (r"py:.*", r"(None|True|False|int|float|str|bool|dict|list|tuple|callable|object|bytes)"),
        (r"py:.*", r"(Exception|[A-Za-z]*Error|[A-Za-z]*Warning)"),
        # astropy's own docstring, which autodoc shows for a Quantity constant re-exported from a
        # submodule (drawings.JOY_COEFFICIENT), names these without their package.
        (r"py:.*", r"(Quantity|unit)"),
    ]

# -- automodapi / numpydoc -------------------------------------------------------------------------
automodapi_toctreedirnm = "api"
automodapi_inheritance_diagram = False
automodsumm_inherited_members = False
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
# Types are in the numpydoc docstrings; annotations in signatures only add noise.
autodoc_typehints = "none"
# Module-level data such as the sample file paths would show paths of the build machine.
autodoc_default_options = {"no-value": True}

# -- intersphinx: empty offline so the build never waits on the network ------------------------------
intersphinx_mapping = {}
if ONLINE:
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3/", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
        "scipy": ("https://docs.scipy.org/doc/scipy/", None),
        "matplotlib": ("https://matplotlib.org/stable/", None),
        "astropy": ("https://docs.astropy.org/en/stable/", None),
        "reproject": ("https://reproject.readthedocs.io/en/stable/", None),
        "sunpy": ("https://docs.sunpy.org/en/stable/", None),
        "sunkit-magex": ("https://docs.sunpy.org/projects/sunkit-magex/en/stable/", None),
        "onnxruntime": ("https://onnxruntime.ai/docs/api/python/", None),
    }
intersphinx_timeout = 10

# -- HTML ------------------------------------------------------------------------------------------
html_theme = "sunpy"
html_title = f"sunpy-dlmag {version}"
html_static_path = ["_static"]
html_theme_options = {
    "sst_project_name": "sunpy-dlmag",
    # No analytics of any kind: the sunpy theme adds GoatCounter by default and the pydata
    # theme underneath supports Google/Plausible analytics; switch both off explicitly.
    "goatcounter_analytics_url": False,
    "analytics": {},
    # The Read the Docs project search queries a remote API from the reader's browser.
    "rtd_search": False,
}
# The theme's opengraph extension needs a site URL to make absolute links.
ogp_site_url = "https://sunpy-dlmag.readthedocs.io/en/latest/"

# -- sphinx-gallery --------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "generated/gallery",
    # Run every example (not only those named plot_*).
    "filename_pattern": r".*\.py$",
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sunpy_dlmag",),
    "reference_url": {"sunpy_dlmag": None},
    "download_all_examples": False,
    # The execution-times pages load jQuery and DataTables from CDNs; leave them out.
    "write_computation_times": False,
}


# -- Local directives ------------------------------------------------------------------------------
class ModelCardsDirective(SphinxDirective):
    """
    ``.. dlmag-model-cards::``: one section per registered model, generated from the registry.

    Each card is what ``sunpy-dlmag models info NAME`` prints (`ModelSpec.summary`), so the docs
    never disagree with the code.
    """

    has_content = False

    def run(self):
        from sunpy_dlmag.models import catalogue, get_model, list_models, registry

        for module in (catalogue, registry):
            self.env.note_dependency(module.__file__)
        lines = []
        for name in list_models():
            spec = get_model(name)
            title = f"``{name}``"
            lines += [f".. _model-card-{name}:", "", title, "-" * len(title), ""]
            if spec.reference:
                lines += [f"*{spec.reference}*; task ``{spec.task}``; weights: {registry.weights_status(spec)}.", ""]
            lines += [".. code-block:: text", ""]
            lines += ["    " + line for line in spec.summary().splitlines()]
            lines += [""]
        self.state_machine.insert_input(statemachine.string2lines("\n".join(lines)), "sunpy_dlmag model registry")
        return []


class DlmagChangelogDirective(SphinxDirective):
    """
    ``.. dlmag-changelog::``: the unreleased towncrier fragments and then ``CHANGELOG.rst``.

    Uses sphinx-changelog where it is installed; otherwise includes ``CHANGELOG.rst`` as it is.
    Either part is left out when its file or folder does not exist.
    """

    has_content = False

    def run(self):
        changelog = REPO_DIR / "CHANGELOG.rst"
        fragments = REPO_DIR / "changelog"
        has_fragments = fragments.is_dir() and any(
            p.name != "README.rst" and p.suffix == ".rst" for p in fragments.iterdir()
        )
        for path in [changelog, fragments, *(sorted(fragments.iterdir()) if fragments.is_dir() else [])]:
            if path.exists():
                self.env.note_dependency(str(path))
        lines = []
        if HAVE_SPHINX_CHANGELOG and (has_fragments or changelog.is_file()):
            lines += [".. changelog::"]
            if has_fragments:
                lines += ["   :towncrier: ../", "   :towncrier-skip-if-empty:"]
            if changelog.is_file():
                lines += ["   :changelog_file: ../CHANGELOG.rst"]
        elif changelog.is_file():
            lines += [".. include:: /../CHANGELOG.rst"]
        else:
            lines += ["No changes have been recorded yet."]
        self.state_machine.insert_input(lines, "sunpy_dlmag changelog")
        return []


class CliHelpDirective(SphinxDirective):
    """
    ``.. dlmag-cli-help:: models list``: the ``--help`` text of a ``sunpy-dlmag`` command, as a
    literal block generated from the parser itself, so that it always matches the code.
    """

    required_arguments = 0
    optional_arguments = 10

    def run(self):
        import contextlib
        import io

        from docutils import nodes

        from sunpy_dlmag import cli

        self.env.note_dependency(cli.__file__)
        buffer = io.StringIO()
        columns = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = "92"
        try:
            with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
                cli.build_parser().parse_args([*self.arguments, "--help"])
        finally:
            if columns is None:
                del os.environ["COLUMNS"]
            else:
                os.environ["COLUMNS"] = columns
        text = f"$ sunpy-dlmag {' '.join([*self.arguments, '--help'])}\n{buffer.getvalue().rstrip()}"
        block = nodes.literal_block(text, text, language="text")
        return [block]


def setup(app):
    app.add_directive("dlmag-cli-help", CliHelpDirective)
    app.add_directive("dlmag-model-cards", ModelCardsDirective)
    app.add_directive("dlmag-changelog", DlmagChangelogDirective)
