"""
Data that ships with the package (`sunpy_dlmag.data.sample`), and queries and downloads
from the archives (`sunpy_dlmag.data.fetch`).
"""

from sunpy_dlmag.data.fetch import fetch_hmi_series, fetch_training_pairs

__all__ = ["fetch_hmi_series", "fetch_training_pairs"]
