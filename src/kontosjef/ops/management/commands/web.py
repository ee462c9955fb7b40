"""`kontosjef web`: serve Kontosjef over HTTP with waitress, a production WSGI server."""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

# Forwarded-header names a trusted reverse proxy may set; waitress drops them from anyone else.
PROXY_HEADERS = {"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port"}


def add_server_arguments(parser: CommandParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    parser.add_argument("--threads", type=int, default=8, help="request threads (8)")
    parser.add_argument(
        "--trusted-proxy",
        default="",
        help="address of a reverse proxy whose X-Forwarded-* headers are believed",
    )


def server_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


class Command(BaseCommand):
    help = "Serve the web pages and the API with waitress (no reloader; see `kontosjef serve`)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_server_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        from waitress.server import create_server

        from kontosjef.wsgi import application

        def stop(signum: int, frame: FrameType | None) -> None:
            # On SystemExit waitress closes its sockets and ends its request threads.
            sys.exit(0)

        signal.signal(signal.SIGTERM, stop)
        server: dict[str, Any] = {
            "host": options["host"],
            "port": options["port"],
            "threads": options["threads"],
            "ident": "Kontosjef",
        }
        if options["trusted_proxy"]:
            server |= {
                "trusted_proxy": options["trusted_proxy"],
                "trusted_proxy_headers": PROXY_HEADERS,
            }
        listening = create_server(application, **server)
        self.stdout.write(f"Serving {server_url(options['host'], options['port'])}")
        self.stdout.flush()
        listening.run()
