"""prodsheets: print-ready PDF job tickets from MyCustomizer orders."""

__version__ = "0.1.0"
