"""
The package version, importable by every module without importing the package's API.

setuptools_scm writes ``_version.py`` at install; a source tree that was never installed
has none.
"""

try:
    from sunpy_dlmag._version import version
except ImportError:
    version = "0.0.0.dev0"

__all__ = ["version"]
