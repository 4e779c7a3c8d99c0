"""Pure cleaning steps over `cleaners.model.Document`: no file I/O, never imports `archive`."""

__version__ = "0.1.0"
