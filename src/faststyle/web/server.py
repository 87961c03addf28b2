"""Serve the web page (faststyle/web/static/) and the models on localhost: a plain static file server.

The page runs the model itself, in the browser, with onnxruntime-web's WebAssembly backend;
the server only hands out files. It assembles a site folder in a temporary directory:

    index.html app.js ... style.css    the page, from faststyle/web/static/
    ort/                           onnxruntime-web's wasm build, from faststyle/web/node_modules
    models/NAME.onnx               the models to offer, as checked at start-up (see read_model)
    models/NAME.predictor.onnx     the style predictor of a model that paints any painting
    models.json                    [{name, file, style, styles, rows, arch, description, bytes,
                                     predictor: {file, bytes, side} or absent}, ...] for the select boxes

The page and runtime files are linked rather than copied where the OS allows (the wasm binary
alone is 14 MB); models are written into the site folder.
Reading model metadata needs only `onnx`; torch is never imported.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, TextIO

from faststyle.errors import ModelError, UserError
from faststyle.export.metadata import check_inputs, proto_inputs, style_names, style_rows
from faststyle.inference.painted import predictor_graph
from faststyle.inference.registry import collect
from faststyle.model_files import DEFAULT_MODEL
from faststyle.painting import PREDICTOR_SIDE

WEB_DIR = Path(__file__).resolve().parent
PAGE_DIR = WEB_DIR / "static"
# `npm ci --prefix src/faststyle/web` puts onnxruntime-web here; a wheel built afterwards carries these files.
ORT_DIST = WEB_DIR / "node_modules" / "onnxruntime-web" / "dist"
PAGE_FILES = ("index.html", "app.js", "camera.js", "painting.js", "stroke_scale.js", "style.css")
IDLE_TIMEOUT_S = 20
# The wasm-only ES module build and the runtime it loads; WebGL/WebGPU builds are not needed.
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")


def read_model(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """One model for the page: (its models.json entry, {site path: bytes} to serve: the model and,
    for a model that paints any painting, its predictor graph); ModelError if unusable.

    The bytes are read once, here, and served from the site folder: a file changed or swapped
    for a link after start-up is never what the page gets. onnxruntime-web accepts only required
    inputs in a run, so a multi-style model is served with its "style" default removed (the
    page always sends the style weights).
    """
    import onnx

    try:
        data = path.read_bytes()
        proto = onnx.load_from_string(data)
    except Exception as e:
        raise ModelError(f"{path}: not a readable ONNX model ({type(e).__name__})") from None
    meta = {p.key: p.value for p in proto.metadata_props}
    if "style" not in meta:
        raise ModelError(f"{path}: an ONNX model, but not a faststyle one (no style metadata)")
    if meta.get("layout", "pixels") != "pixels":
        # The page feeds uint8 [1, H, W, 3]; a zoo-layout graph wants float32 NCHW.
        raise ModelError(
            f"{path}: layout '{meta['layout']}'; the page needs the default (faststyle export --layout pixels)"
        )
    styles = style_names(meta, path)
    rows = style_rows(meta, path)
    check_inputs(path, "pixels", proto_inputs(proto), rows)  # what the page feeds: uint8 [1, H, W, 3]
    defaults = [init for init in proto.graph.initializer if init.name == "style"]
    if defaults:
        proto.graph.initializer.remove(defaults[0])
        data = proto.SerializeToString()
    info = {
        "name": path.stem,
        "file": f"models/{path.name}",
        "style": meta["style"],
        "styles": styles,
        "rows": rows,  # the style input's length: more than the styles in a model that paints any painting
        "arch": meta.get("arch", ""),
        "description": meta.get("description", ""),
        "bytes": len(data),
    }
    files = {info["file"]: data}
    if "predictor" in meta:
        graph = predictor_graph(path)
        predictor = graph.read_bytes()
        info["predictor"] = {"file": f"models/{graph.name}", "bytes": len(predictor), "side": PREDICTOR_SIDE}
        files[info["predictor"]["file"]] = predictor
    return info, files


def check_web_files() -> None:
    """One-line errors for a checkout whose page or onnxruntime-web is not in place."""
    missing = [n for n in PAGE_FILES if not (PAGE_DIR / n).is_file()]
    if missing:
        raise UserError(f"the web page is not at {PAGE_DIR} (missing {', '.join(missing)}); reinstall faststyle")
    if not all((ORT_DIST / n).is_file() for n in ORT_FILES):
        raise UserError(
            f"onnxruntime-web is not installed in {WEB_DIR / 'node_modules'}: "
            f"run `npm ci --prefix {WEB_DIR}` first, or install a faststyle wheel built after that"
        )


def _link(src: Path, dst: Path) -> None:
    try:
        os.symlink(src.resolve(), dst)
    except OSError:  # e.g. Windows without the symlink privilege
        shutil.copyfile(src, dst)


def build_site(site: Path, models: dict[str, Path], log: TextIO = sys.stderr) -> list[dict[str, Any]]:
    """Fill `site` with the page, onnxruntime-web and the usable models; returns models.json's list."""
    check_web_files()
    (site / "ort").mkdir(parents=True, exist_ok=True)
    (site / "models").mkdir(exist_ok=True)
    for name in PAGE_FILES:
        _link(PAGE_DIR / name, site / name)
    for name in ORT_FILES:
        _link(ORT_DIST / name, site / "ort" / name)
    listed: list[dict[str, Any]] = []
    for path in models.values():
        try:
            info, files = read_model(path)
        except ModelError as e:
            print(f"skipping {e}", file=log)  # one bad file in a folder should not stop the others
            continue
        for name, data in files.items():
            (site / name).write_bytes(data)
        listed.append(info)
    if not listed:
        raise UserError(
            "no usable models to serve: export one with `faststyle export`, "
            "or name a folder or .onnx file with --models"
        )
    listed.sort(key=lambda m: m["name"] != DEFAULT_MODEL)  # the page opens on the first: stylize's default
    (site / "models.json").write_text(json.dumps(listed, indent=1))
    return listed


class StaticHandler(SimpleHTTPRequestHandler):
    """Files only, with the MIME types and headers onnxruntime-web needs."""

    extensions_map: ClassVar[dict[str, str]] = {  # type: ignore[misc]  # typeshed wrongly declares it per instance
        **SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",  # WebAssembly.instantiateStreaming refuses anything else
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".json": "application/json",
        ".onnx": "application/octet-stream",
    }

    # An idle or stalled connection is closed after this many seconds, freeing its thread.
    timeout = IDLE_TIMEOUT_S

    def send_head(self) -> Any:
        try:
            return super().send_head()
        except ValueError:  # e.g. an encoded NUL byte in the path: not a file name at all
            self.send_error(400, "Bad request path")
            return None

    def end_headers(self) -> None:
        # Cross-origin isolation lets the wasm backend use threads (SharedArrayBuffer).
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        # A re-exported model keeps its name; never show a stale one.
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per file fetched is noise; errors reach the page itself

    def log_error(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


class SiteServer(ThreadingHTTPServer):
    # Ctrl-C stops at once: closing does not wait for open connections (an idle keep-alive one
    # would hold it for IDLE_TIMEOUT_S); their daemon threads end with the process.
    block_on_close = False
    # Connections waiting to be accepted; past it the OS drops new ones and clients retry after
    # 1, 3, 7 s... Python's default of 5 left 10-30 of 200 parallel requests unanswered in 10 s.
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that leaves mid-answer (a reload, a closed tab) is its own business, not a
        # traceback on the server's terminal; anything else is still printed.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            super().handle_error(request, client_address)


def make_server(site: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """An HTTP server for `site` (port 0: any free port; read server.server_address)."""
    try:
        return SiteServer((host, port), partial(StaticHandler, directory=str(site)))
    except OSError as e:
        raise UserError(f"cannot serve on {host}:{port}: {e.strerror or e} (pick another with --port/--host)") from None
    except (TypeError, ValueError, UnicodeError):  # a host name the socket layer cannot even encode
        raise UserError(f"--host {host!r}: not a host name or address") from None


def serve(models: list[str | os.PathLike[str]] | None = None, host: str = "127.0.0.1", port: int = 8000) -> int:
    """Build the site, print its URL, serve until Ctrl-C; the temporary site is removed on the way out."""
    found = collect(models)
    with tempfile.TemporaryDirectory(prefix="faststyle-site-") as tmp:
        listed = build_site(Path(tmp), found)
        server = make_server(Path(tmp), host, port)
        url = f"http://{host}:{server.server_address[1]}/"
        print(
            f"serving {len(listed)} model(s) ({', '.join(m['name'] for m in listed)}) at {url}  (Ctrl-C stops)",
            flush=True,
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("stopped", flush=True)
        finally:
            server.server_close()
    return 0
