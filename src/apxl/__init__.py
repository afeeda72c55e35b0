"""apxl: validate an alternative provision register and apply the LA's funding and registration rules."""
__version__ = "0.1.0"
