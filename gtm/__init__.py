"""gtm: an authoritative GeoDNS server and global traffic manager."""

__version__ = "0.1.0"
