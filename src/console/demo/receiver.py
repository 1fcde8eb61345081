"""The demo's webhook receiver: an HTTP server on loopback that takes the notifications the
sample's targets send, writes each to a log and tells the person, so a newcomer sees them
arrive."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from console.sanitize import printable


class Receiver:
    """A running receiver: the URL to send to, and how to stop it."""

    def __init__(self, say: Callable[[str], None], log: Path) -> None:
        self._say, self.log = say, log
        receiver = self

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
                receiver.took(self.path.strip("/") or "webhook", body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return  # the console's screen is not the place for an access log

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, name="demo-hooks", daemon=True).start()

    def took(self, target: str, body: bytes) -> None:
        """A message arrived for a target: log it whole, say its first line."""
        try:
            data = json.loads(body)
        except ValueError:
            data = {}
        line = str(data.get("headline") or data.get("summary") or data.get("text") or "")
        line = printable(line.splitlines()[0] if line else "(not JSON)")
        with self.log.open("a", encoding="utf-8") as out:
            out.write(f"{target}: {body.decode(errors='replace')}\n")
        self._say(f"{printable(target)} got: {line}")

    def stop(self) -> None:
        """Stop taking messages."""
        self._server.shutdown()
        self._server.server_close()
