"""netsift: CDN access logs and packet captures turned into security tables."""

__version__ = "0.1.0"


def read(table, since=None, **kwargs):
    """A netsift table or view as a pandas DataFrame: `netsift.read("alerts", since="2026-11-01")`."""
    from netsift.analyst.frames import read as _read

    return _read(table, since, **kwargs)
