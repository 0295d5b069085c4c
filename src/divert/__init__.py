"""divert: treatment instead of conviction for people with drug use disorders."""

__version__ = "0.1.0"
