"""Where apxl's data files (schemas/, workbooks/) live, in a checkout or an installed wheel."""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """``schemas`` or ``workbooks``: the installed copy, else the repository's own folder."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE.parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"apxl's {name} folder is missing from this installation.")


def schemas_dir() -> Path:
    return data_dir("schemas")


def workbooks_dir() -> Path:
    return data_dir("workbooks")
