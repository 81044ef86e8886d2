"""
Data that ships with the package, and (later) queries of the archives.
"""
