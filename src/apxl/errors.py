"""Errors that stop apxl from running at all; each carries one sentence for the user."""


class ApxlError(Exception):
    """apxl cannot run on this input; the message is one sentence a finance officer can act on."""


class RegisterError(ApxlError):
    """The register cannot be read (missing file, not a workbook, no Placements sheet)."""
