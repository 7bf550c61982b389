"""`byom-sql serve`: the Postgres wire protocol front door."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import ssl

from byom_sql.cli.main import add_database_option, subcommand
from byom_sql.config import EngineConfig
from byom_sql.engine import Engine
from byom_sql.errors import Error
from byom_sql.models.hosts import ModelHosts
from byom_sql.server.messages import MAX_MESSAGE
from byom_sql.server.server import ConfigurationError, ServerConfig, run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_database_option(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=55432, help="port (default: 55432)")
    parser.add_argument(
        "--user",
        action="append",
        metavar="NAME",
        help="a user name accepted (repeatable; default: any name)",
    )
    parser.add_argument(
        "--password-env",
        metavar="VAR",
        help="require the password held in environment variable VAR (SCRAM-SHA-256)",
    )
    parser.add_argument(
        "--passwords-file",
        metavar="FILE",
        help="per-user passwords, one 'user:password' a line (the users it names are accepted)",
    )
    parser.add_argument(
        "--read-only-users",
        metavar="NAMES",
        default="",
        help="comma-separated users who may only read: queries, SHOW, DESCRIBE, EXPLAIN",
    )
    parser.add_argument(
        "--writers",
        metavar="NAMES",
        help="comma-separated users who may create, change and drop predictors, databases, "
        "secrets and tables; with it, every other user may only read",
    )
    parser.add_argument(
        "--max-auth-failures",
        type=int,
        default=5,
        metavar="N",
        help="refuse a client address for a minute after N failed logins (default 5; 0: never)",
    )
    parser.add_argument(
        "--max-message-bytes",
        type=int,
        default=MAX_MESSAGE,
        metavar="N",
        help=f"refuse (FATAL 54000) a protocol message longer than N bytes (default {MAX_MESSAGE})",
    )
    parser.add_argument(
        "--require-tls",
        action="store_true",
        help="refuse connections that do not use TLS (needs --tls-cert and --tls-key)",
    )
    parser.add_argument(
        "--auth-method",
        choices=("scram-sha-256", "password"),
        default="scram-sha-256",
        help="how a password is checked: SCRAM-SHA-256 (default) or cleartext 'password'",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics (model calls, connections, queries) at "
        "http://HOST:PORT/metrics",
    )
    parser.add_argument(
        "--call-log-size",
        type=int,
        default=EngineConfig.call_log_size,
        metavar="N",
        help="model calls mindsdb.model_calls keeps (default: %(default)s)",
    )
    parser.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="DuckDB's memory limit, e.g. 2GB: past it, large joins and sorts spill to disk "
        "(default: 80%% of the machine's memory)",
    )
    parser.add_argument("--tls-cert", metavar="FILE", help="TLS certificate (PEM)")
    parser.add_argument("--tls-key", metavar="FILE", help="TLS private key (PEM)")
    parser.add_argument(
        "--allow-file-access",
        action="store_true",
        help="let clients read and write server files through DuckDB (read_csv, COPY, "
        "ATTACH, INSTALL); off by default",
    )
    parser.add_argument(
        "--max-connections", type=int, default=100, metavar="N", help="default: 100"
    )
    parser.add_argument(
        "--allow-model-hosts",
        default="loopback",
        metavar="PATTERNS",
        help="where predictors may send requests, comma-separated: host names, *.domain, "
        "addresses, networks (10.0.0.0/8), 'loopback', each optionally :port; '*' for "
        "anywhere (default: loopback)",
    )
    parser.add_argument(
        "--follow-redirects",
        action="store_true",
        help="follow model endpoints' redirects (each hop must be an allowed host)",
    )
    parser.add_argument(
        "--python-models",
        action="store_true",
        help="run the Python predictors stored in the database (their code is loaded from "
        "the artifact store: trust the file); clients can use them, never create them",
    )


@subcommand("serve", "serve the Postgres wire protocol", arguments=add_arguments)
def serve(args: argparse.Namespace) -> int:
    logging.getLogger("byom_sql.server").setLevel(logging.DEBUG if args.debug else logging.INFO)
    password = None
    if args.password_env:
        password = os.environ.get(args.password_env)
        if not password:
            raise Error(f"environment variable {args.password_env} is not set or empty")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise Error("--tls-cert and --tls-key go together")
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    passwords = _passwords(args.passwords_file) if args.passwords_file else {}
    users = tuple(args.user or ()) + tuple(passwords)
    config = ServerConfig(
        host=args.host,
        port=args.port,
        users=users or None,
        password=password,
        passwords=passwords,
        auth_method=args.auth_method,
        ssl_context=context,
        require_tls=args.require_tls,
        max_auth_failures=args.max_auth_failures,
        max_message_bytes=args.max_message_bytes,
        max_connections=args.max_connections,
        read_only_users=_names(args.read_only_users),
        writers=_names(args.writers) if args.writers is not None else None,
        metrics_port=args.metrics_port,
    )
    try:
        config.check()
    except ConfigurationError as error:
        raise Error(str(error)) from None
    hosts = tuple(p.strip() for p in args.allow_model_hosts.split(",") if p.strip())
    ModelHosts(hosts)  # a bad pattern is an error now, not at the first model call
    engine_config = EngineConfig(
        external_access=args.allow_file_access,
        python_models=args.python_models,
        debug=args.debug,
        model_hosts=None if hosts == ("*",) else hosts,
        follow_redirects=args.follow_redirects,
        call_log_size=args.call_log_size,
        memory_limit=args.memory_limit,
    )
    with Engine(args.database, engine_config) as engine:
        try:
            run(engine, config)
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            raise Error(
                f"cannot listen on {config.host}:{config.port}: the port is already in use",
                hint="stop what listens there, or choose another port with --port N",
            ) from None
    return 0


def _names(text: str) -> frozenset[str]:
    return frozenset(n.strip() for n in text.split(",") if n.strip())


def _passwords(path: str) -> dict[str, str]:
    """`user:password` lines; blank lines and # comments are skipped."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as error:
        raise Error(f"cannot read --passwords-file {path}: {error.strerror or error}") from None
    found: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        user, sep, secret = line.partition(":")
        if not sep or not user.strip() or not secret:
            raise Error(f"{path}, line {number}: expected user:password")
        found[user.strip()] = secret
    return found
