"""A tiny GitHub-compatible server on 127.0.0.1 that replays the demo's recorded answers.

Read-only and local: it answers the GET requests the GitHub miner sends (a repository,
its pull requests newest-updated first, page by page, and each pull request's files,
reviews and review comments, and user profiles) under GitHub Enterprise's ``/api/v3``
prefix, from a :class:`~teamlens.demo.recorded.Recording`. Anything else is a 404.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from teamlens.demo.recorded import Recording

PREFIX = "/api/v3"


class _Handler(BaseHTTPRequestHandler):
    server: _ReplayServer
    protocol_version = "HTTP/1.1"  # keep-alive: the miner sends a few requests per pull
    disable_nagle_algorithm = True  # else each answer waits ~40 ms for a delayed ACK

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the demo prints its own progress

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/")
        if not path.startswith(PREFIX):
            self._send(404, {"message": "Not Found"})
            return
        path = path[len(PREFIX) :]
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        recording = self.server.recording
        if path == f"/repos/{recording.full_name}/pulls":
            self._pull_list(recording, query)
            return
        found = recording.documents.get(path)
        if found is None:
            self._send(404, {"message": "Not Found"})
            return
        self._send(200, found)

    def _pull_list(self, recording: Recording, query: dict[str, str]) -> None:
        per_page = max(1, min(100, int(query.get("per_page", "30"))))
        page = max(1, int(query.get("page", "1")))
        pulls = recording.pulls  # newest update first, as the miner asks
        chunk = pulls[(page - 1) * per_page : page * per_page]
        links = None
        if page * per_page < len(pulls):
            base = f"{recording.base_url}{PREFIX}/repos/{recording.full_name}/pulls"
            links = (
                f"<{base}?state=all&sort=updated&direction=desc&per_page={per_page}"
                f'&page={page + 1}>; rel="next"'
            )
        self._send(200, chunk, links)

    def _send(self, status: int, doc: object, links: str | None = None) -> None:
        body = json.dumps(doc).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-RateLimit-Limit", "5000")
        self.send_header("X-RateLimit-Remaining", "5000")
        if links is not None:
            self.send_header("Link", links)
        self.end_headers()
        self.wfile.write(body)


class _ReplayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.recording = Recording()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def replay_server() -> Iterator[_ReplayServer]:
    """A running replay server (its ``url``; set its ``recording``), stopped on exit."""
    server = _ReplayServer()
    thread = threading.Thread(target=server.serve_forever, name="teamlens-demo-github")
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
