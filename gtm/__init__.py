"""gtm: an authoritative GeoDNS server and global traffic manager."""

from importlib.metadata import version

__version__ = version("gtm")  # declared once, in pyproject.toml
