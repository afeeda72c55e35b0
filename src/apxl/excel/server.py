"""`apxl serve`: the Office.js add-in server (xlwings Server's routes, manifest, task pane), on FastAPI.

Routes follow xlwings Server so its clients work unchanged: custom-functions-meta/-code/-call and
custom-scripts-call/{name} under /xlwings. apxl adds custom-functions-batch (many calls in one
request: our JavaScript sends a recalculation's calls together), /manifest.xml and /taskpane.
Security: binds to 127.0.0.1 unless told otherwise, an optional shared-secret token (header
``Authorization: Bearer TOKEN`` or ``?token=``), and a cap on request size.
"""

import hmac
import json
import logging
from collections import defaultdict
from importlib import resources
from typing import Any

from apxl.errors import ApxlError
from apxl.excel import runtime

log = logging.getLogger("apxl.serve")

FUNCTIONS_MODULE = "apxl.excel.functions"
SCRIPTS_MODULE = "apxl.excel.scripts"
DEFAULT_MAX_MB = 64
PUBLIC_PATHS = {"/health"}
PUBLIC_PREFIXES = ("/icons/",)


def static_text(name: str) -> str:
    return resources.files("apxl.excel").joinpath("static", name).read_text(encoding="utf-8")


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``limit`` bytes (413), declared or streamed."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(send)
        seen, refused = 0, False

        async def counted():
            # A body streamed without a declared length: answer 413 once it passes the limit and
            # tell the app the client has gone, so it stops reading.
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message):
            if not refused:
                await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, send):
        body = f"The request is larger than this apxl server accepts ({self.limit / 2**20:.3g} MB): start apxl serve with a larger --max-request-mb.".encode()
        await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
        await send({"type": "http.response.body", "body": body})


def _strip_namespace(meta: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The manifest's <Namespace> already prefixes APXL., so drop the module's own prefix (kept for Lite)."""
    prefix = namespace.upper() + "."
    for func in meta.get("functions", []):
        if func["name"].upper().startswith(prefix):
            func["name"] = func["name"][len(prefix):]
    return meta


def create_app(*, token: str | None = None, max_request_mb: float = DEFAULT_MAX_MB):
    """The FastAPI application. Raises ApxlError (one sentence) when xlwings' server licence key is missing."""
    try:
        from fastapi import Body, FastAPI, Request
        from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
    except ImportError:
        raise ApxlError("apxl serve needs the server extra: install it with  uv pip install 'apxl[server]'  (or pip install 'apxl[server]').") from None

    server = runtime.server_api()
    functions = runtime.server_module(FUNCTIONS_MODULE)
    scripts = runtime.server_module(SCRIPTS_MODULE)
    import xlwings as xw

    from apxl.excel import manifest as mf

    app = FastAPI(title="apxl add-in server", docs_url=None, redoc_url=None, openapi_url=None)
    namespace = getattr(functions, "__xlwings_func_namespace__", "APXL")
    meta = _strip_namespace(server.custom_functions_meta(functions), namespace)
    names = [f["id"] for f in meta["functions"]]

    @app.middleware("http")
    async def require_token(request: Request, call_next):
        path = request.url.path
        if token and path not in PUBLIC_PATHS and not path.startswith(PUBLIC_PREFIXES):
            given = request.headers.get("authorization", "")
            given = given[7:] if given.lower().startswith("bearer ") else request.query_params.get("token", "")
            if not hmac.compare_digest(given.encode(), token.encode()):
                return PlainTextResponse("This apxl server needs its token: use the manifest that apxl serve printed.", status_code=401)
        return await call_next(request)

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    @app.get("/health")
    async def health():
        from apxl import __version__

        return {"ok": True, "apxl": __version__, "xlwings": xw.__version__}

    @app.get("/xlwings/custom-functions-meta")
    async def functions_meta():
        return meta

    @app.get("/xlwings/custom-functions-code")
    async def functions_code(request: Request):
        js = static_text("functions.js")
        for key, value in {"origin": base(request), "version": xw.__version__, "token": token or ""}.items():
            js = js.replace('"${' + key + '}"', json.dumps(value))
        js = js.replace("${functions}", json.dumps(names))
        return Response(js, media_type="text/javascript")

    async def one_call(data: dict[str, Any]) -> Any:
        """xlwings' custom_functions_call, with any failure as a short message in the cell."""
        name = str(data.get("func_name", ""))
        if name not in names:
            return [[f"APXL: there is no function {name[:40]}"]]
        try:
            data.setdefault("client", "Office.js")
            data.setdefault("version", xw.__version__)
            data.setdefault("runtime", "1.1")
            return await server.custom_functions_call(data, functions)
        except Exception as exc:  # noqa: BLE001 - never a traceback in a cell
            log.warning("APXL.%s failed: %s", name, type(exc).__name__)
            return [[f"APXL.{name} could not read its arguments ({type(exc).__name__})"]]

    @app.post("/xlwings/custom-functions-call")
    async def functions_call(data: dict = Body(...)):
        return {"result": await one_call(data)}

    @app.post("/xlwings/custom-functions-batch")
    async def functions_batch(request: Request):
        # Read the JSON directly: a recalculation's batch can hold thousands of calls.
        try:
            data = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"detail": "the request is not JSON"}, status_code=400)
        calls = data.get("calls") if isinstance(data, dict) else None
        if not isinstance(calls, list):
            return JSONResponse({"detail": "send {\"calls\": [...]}"}, status_code=422)
        results: list[Any] = [None] * len(calls)
        checks = [i for i, c in enumerate(calls) if isinstance(c, dict) and c.get("func_name") == "CHECK"]
        is_check = set(checks)
        for i, c in enumerate(calls):
            if i not in is_check:
                results[i] = await one_call(c if isinstance(c, dict) else {})
        if checks:
            for i, value in zip(checks, _check_batch([calls[i] for i in checks])):
                results[i] = value
        return {"results": results}

    @app.get("/xlwings/custom-scripts-meta")
    async def scripts_meta():
        return server.custom_scripts_meta(scripts)

    @app.post("/xlwings/custom-scripts-call/{script_name}")
    async def scripts_call(script_name: str, data: dict = Body(...)):
        known = {s["function_name"] for s in server.custom_scripts_meta(scripts)}
        if script_name not in known:
            return PlainTextResponse(f"There is no apxl script called {script_name[:40]}.", status_code=404)
        try:
            book = xw.Book(json=data)
            book = await server.custom_scripts_call(scripts, script_name, typehint_to_value={xw.Book: book})
            return book.json()
        except ApxlError as exc:
            return PlainTextResponse(str(exc), status_code=422)
        except Exception as exc:  # noqa: BLE001 - the task pane shows one sentence, the log the type
            # Type only: a traceback or message could quote pupils' data (names, UPNs).
            log.warning("script %s failed: %s", script_name, type(exc).__name__)
            return PlainTextResponse(f"apxl could not run {script_name.replace('_', ' ')} ({type(exc).__name__}): check the register with 'apxl validate' for details.", status_code=500)

    @app.get("/manifest.xml")
    async def manifest(request: Request):
        return Response(mf.manifest_xml(base(request), token), media_type="application/xml")

    @app.get("/taskpane", response_class=HTMLResponse)
    async def taskpane(request: Request):
        html = static_text("taskpane.html")
        scripts_list = [{"name": s["function_name"], "label": s.get("name") or s["function_name"]} for s in server.custom_scripts_meta(scripts)]
        html = html.replace("${query}", f"?token={token}" if token else "")
        html = html.replace("${config}", json.dumps({"version": xw.__version__, "token": token or "", "scripts": scripts_list}).replace("</", "<\\/"))
        return HTMLResponse(html)

    @app.get("/taskpane.js")
    async def taskpane_js():
        return Response(static_text("taskpane.js"), media_type="text/javascript")

    @app.get("/icons/apxl-{size}.png")
    async def icon(size: int):
        if size not in mf.ICON_SIZES:
            return PlainTextResponse("no such icon", status_code=404)
        return Response(mf.icon_png(size), media_type="image/png")

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request):
        link = "/manifest.xml" + (f"?token={token}" if token else "")
        return HTMLResponse(
            "<!doctype html><meta charset='utf-8'><title>apxl</title><h1>apxl add-in server</h1>"
            f"<p>Download the <a href='{link}'>add-in manifest</a> and add it to Excel (see the README, 'Using apxl in Excel').</p>"
        )

    return BodyLimit(app, int(max_request_mb * 2**20)) if max_request_mb else app


def _check_batch(calls: list[dict[str, Any]]) -> list[Any]:
    """Many CHECK calls in one go: rows sharing headers, profile and date are checked together."""
    from apxl.excel import bridge
    from apxl.excel import convert as cv

    results: list[Any] = [None] * len(calls)
    groups: dict[tuple, list[int]] = defaultdict(list)
    parsed: dict[int, tuple] = {}
    for i, call in enumerate(calls):
        args = list(call.get("args") or []) + [None] * 4
        try:
            headers = cv.grid(args[0])
            row = cv.grid(args[1])
            profile = cv.to_text(args[2])
            when = cv.to_date(args[3], "as of", required=False) or cv.today()
            key = (tuple(map(str, headers[0])) if headers else (), profile, when)
            parsed[i] = (headers, row[0] if row else [])
            groups[key].append(i)
        except Exception as exc:  # noqa: BLE001
            results[i] = [[cv.message(exc, "APXL.CHECK")]]
    for (_, profile, when), members in groups.items():
        headers = parsed[members[0]][0]
        try:
            found = bridge.check_rows(headers, [parsed[i][1] for i in members], profile, when)
            for i, value in zip(members, found):
                results[i] = value
        except Exception as exc:  # noqa: BLE001
            for i in members:
                results[i] = [[cv.message(exc, "APXL.CHECK")]]
    return results


def run(host: str = "127.0.0.1", port: int = 8000, *, cert: str | None = None, key: str | None = None, token: str | None = None, max_request_mb: float = DEFAULT_MAX_MB) -> None:
    """Serve the add-in with uvicorn until interrupted."""
    try:
        import uvicorn
    except ImportError:
        raise ApxlError("apxl serve needs the server extra: install it with  uv pip install 'apxl[server]'  (or pip install 'apxl[server]').") from None
    if bool(cert) != bool(key):
        raise ApxlError("Give both --cert and --key (a certificate and its private key) to serve over HTTPS.")
    app = create_app(token=token, max_request_mb=max_request_mb)
    uvicorn.run(app, host=host, port=port, ssl_certfile=cert, ssl_keyfile=key, log_level="warning")
