"""Load apxl's functions and scripts for xlwings Server, whatever mode xlwings was imported in."""
from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType

from apxl.errors import ApxlError

LICENCE_MESSAGE = (
    "apxl serve uses xlwings' server features, which are free for government and educational institutions "
    "such as local authorities under the PolyForm Noncommercial licence: set the environment variable "
    "XLWINGS_LICENSE_KEY=noncommercial (or an xlwings commercial licence key) and run apxl serve again."
)

_cache: dict[str, ModuleType] = {}


def server_api() -> ModuleType:
    """``xlwings.server``, or one clear sentence when xlwings has no licence key for it."""
    import xlwings as xw

    try:
        import xlwings.server as server
        from xlwings.pro.utils import LicenseHandler

        LicenseHandler.validate_license("pro")  # xlwings caches the answer for the process
    except (xw.LicenseError, ImportError):
        raise ApxlError(LICENCE_MESSAGE) from None
    # xlwings registers its Office.js engines only when its licence is valid at import time;
    # when xlwings was imported before the key was set, add them now.
    names = {e.name for e in xw.engines}
    if not {"remote", "officejs"} <= names:
        from xlwings.main import Engine
        from xlwings.pro import _xlofficejs, _xlremote

        if "remote" not in names:
            xw.engines.add(Engine(impl=_xlremote.engine))
        if "officejs" not in names:
            xw.engines.add(Engine(impl=_xlofficejs.engine))
    return server


def _server_format(module: ModuleType) -> bool:
    for obj in vars(module).values():
        info = getattr(obj, "__xlfunc__", None)
        if isinstance(info, dict):
            return "excel_name" in info  # only xlwings' server decorator records this key
        if getattr(obj, "__xlscript__", None) is not None:
            return True
    return False


def server_module(name: str) -> ModuleType:
    """The module ``name`` (e.g. ``apxl.excel.functions``) with xlwings Server's decorators applied.

    ``xw.func``/``xw.script`` are chosen when xlwings is imported: the desktop (COM) decorators on
    Windows, no-ops elsewhere, the server ones only with XLWINGS_ON_SERVER=true. The server needs the
    last, so unless the loaded module already has them, a private copy is executed with them in place.
    """
    if name in _cache:
        return _cache[name]
    server = server_api()
    import xlwings as xw

    module = importlib.import_module(name)
    if not _server_format(module):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ApxlError(f"apxl cannot find its module {name}: reinstall apxl.")
        private = f"{name}__xlwings_server"
        saved = {k: getattr(xw, k) for k in ("func", "arg", "ret", "script")}
        copy = importlib.util.module_from_spec(importlib.util.spec_from_file_location(private, spec.origin))
        sys.modules[private] = copy
        try:
            xw.func, xw.arg, xw.ret, xw.script = server.func, server.arg, server.ret, server.script
            copy.__spec__.loader.exec_module(copy)
        finally:
            for k, v in saved.items():
                setattr(xw, k, v)
        module = copy
    _cache[name] = module
    return module


def licence_present() -> bool:
    """Whether an xlwings licence key is set in the environment (the server also accepts xlwings' own config)."""
    return bool(os.environ.get("XLWINGS_LICENSE_KEY"))
