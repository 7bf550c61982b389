"""`byom-sql serve-model pkg.mod:MyModel [--artifacts DIR] [--port 8000]`: a Python model as an
HTTP endpoint with the ray_serve and MLflow contracts (see byom_sql.serving)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from byom_sql.cli.main import subcommand
from byom_sql.errors import InvalidOption
from byom_sql.models.python import artifact_paths, import_target, load_model
from byom_sql.serving import App, Server


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", metavar="MODULE:NAME", help="an importable class, function or object"
    )
    parser.add_argument(
        "--artifacts",
        metavar="PATH",
        help="a file or folder; the class is built with {name: path} of its files",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)"
    )
    parser.add_argument(
        "--route-prefix",
        default="",
        metavar="PATH",
        help="serve under this path, e.g. /my_model for /my_model/predict",
    )
    parser.add_argument(
        "--app-dir",
        default=".",
        metavar="DIR",
        help="look for the module here first (default: the current directory)",
    )
    parser.add_argument(  # SUPPRESS: `byom-sql --debug serve-model …` keeps working
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="put Python tracebacks in error replies, log requests",
    )


@subcommand(
    "serve-model",
    "serve a Python model over HTTP (ray_serve /predict, /train; MLflow /invocations)",
    arguments=add_arguments,
)
def run(args: argparse.Namespace) -> int:
    sys.path.insert(0, os.path.abspath(args.app_dir))
    artifacts = None
    if args.artifacts:
        folder = Path(args.artifacts).expanduser()
        if not folder.exists():
            raise InvalidOption(f"artifacts path {args.artifacts!r} does not exist")
        artifacts = artifact_paths(folder)
    model = load_model(import_target(args.model), artifacts)
    prefix = "/" + args.route_prefix.strip("/") if args.route_prefix.strip("/") else ""
    app = App(model, prefix=prefix, debug=args.debug)
    with Server(app, args.host, args.port) as server:
        routes = ", ".join(f"{method} {path}" for path, method in app.routes().items())
        print(f"serving {model.name} at {server.url} ({routes})", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0
