"""HTTP plumbing: the stdlib server thread, its handler, one request from bytes to answer."""

from __future__ import annotations

import contextlib
import hashlib
import re
import socket
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import parse_qsl, urlsplit

from tests.github_server.protocol import (
    _error_body,
    _etag_matches,
    _HttpError,
    _media_param,
    _parse_body,
    _Response,
)
from tests.github_server.records import API_PREFIX, RATE_DOCS, RecordedRequest
from tests.github_server.routes import _Routes


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins the handler threads

    def __init__(self, app: _Http) -> None:
        self.app = app
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self) -> tuple[Any, Any]:
        conn, addr = super().get_request()
        with self._conns_lock:
            self._conns.add(conn)
        return conn, addr

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client going away mid-answer; the server's own errors land in app.errors


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""
    timeout = 60
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def _app(self) -> _Http:
        return cast(_HTTPServer, self.server).app

    def do_GET(self) -> None:
        self._answer("GET")

    def do_HEAD(self) -> None:
        self._answer("HEAD")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_PATCH(self) -> None:
        self._answer("PATCH")

    def do_PUT(self) -> None:
        self._answer("PUT")

    def do_DELETE(self) -> None:
        self._answer("DELETE")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        app = self._app()
        response = app._respond(method, self.path, dict(self.headers.items()), raw)
        if response.delay:
            app._stopping.wait(response.delay)
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if method != "HEAD" and response.status != HTTPStatus.NOT_MODIFIED:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Http(_Routes):
    """Starting and stopping the server, and answering one request."""

    def start(self) -> Self:
        if self._httpd is not None:
            raise RuntimeError("already started")
        self._stopping.clear()
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-github-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _respond(
        self, method: str, target: str, headers: Mapping[str, str], raw: bytes = b""
    ) -> _Response:
        split = urlsplit(target)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        lower = {k.lower(): v for k, v in headers.items()}
        inm = lower.get("if-none-match")
        with self._lock:
            self._request_counter += 1
            fault = self._take_fault(target)
            try:
                if fault is not None and not fault.malformed:
                    response = self._fault_response(fault)
                else:
                    response = self._serve(method, split.path, pairs, lower, raw)
                    if fault is not None:
                        response.status = fault.status or 200
                        response.body = response.body[: len(response.body) // 2] or b"{"
                        response.headers.pop("ETag", None)
                        response.headers.update(fault.headers)
                        response.delay = fault.delay
            except Exception as exc:  # the server's own bug: show it to the test
                self.errors.append(exc)
                body = _error_body(500, f"fake server error: {exc!r}")
                response = _Response(500, self._base_headers(), self._dump(body))
            self._requests.append(
                RecordedRequest(
                    method=method,
                    path=split.path,
                    query=dict(pairs),
                    status=0 if response.drop else response.status,
                    if_none_match=inm,
                    body=_parse_body(raw)[1],
                )
            )
            return response

    def _serve(
        self,
        method: str,
        path: str,
        pairs: list[tuple[str, str]],
        headers: Mapping[str, str],
        raw: bytes = b"",
    ) -> _Response:
        self._roll_rate_window()
        media = _media_param(headers.get("accept", ""))
        media_header = (
            f"github.v3; param={media}; format=json" if media else "github.v3; format=json"
        )
        status, link, counted = 200, None, True
        payload: Any = None
        try:
            if not path.startswith(API_PREFIX + "/"):
                raise _HttpError(404, "Not Found")
            api_path = path[len(API_PREFIX) :]
            token_path = re.fullmatch(r"/app/installations/(\d+)/access_tokens", api_path)
            if token_path and method == "POST":  # JWT auth, not rate limited like the rest
                payload = self._access_token(headers.get("authorization"), token_path.group(1))
                status, counted = 201, False
            else:
                viewer = self._authenticate(headers.get("authorization"))
                if api_path == "/rate_limit" and method in ("GET", "HEAD"):
                    payload, counted = self._rate_limit_json(), False
                else:
                    if self._remaining <= 0:
                        user = self._users.get(viewer)
                        raise _HttpError(
                            403,
                            f"API rate limit exceeded for user ID {user.id if user else 1}.",
                            documentation_url=RATE_DOCS + "#about-the-primary-rate-limit",
                        )
                    if method in ("GET", "HEAD"):
                        payload, link = self._route(api_path, pairs, media, viewer)
                    else:
                        status, payload = self._write(method, api_path, raw, media, viewer)
        except _HttpError as err:
            return _Response(err.status, self._base_headers(media_header), self._dump(err.body))
        if status == HTTPStatus.NO_CONTENT:
            self._remaining -= 1
            response_headers = self._base_headers(media_header)
            del response_headers["Content-Type"]
            return _Response(status, response_headers)
        body = self._dump(payload)
        etag = 'W/"' + hashlib.sha256(body).hexdigest() + '"'
        if method in ("GET", "HEAD") and _etag_matches(headers.get("if-none-match"), etag):
            response_headers = self._base_headers(media_header)
            response_headers["ETag"] = etag
            return _Response(304, response_headers)  # a 304 is free
        if counted:
            self._remaining -= 1
        response_headers = self._base_headers(media_header)
        response_headers["ETag"] = etag
        if status == HTTPStatus.CREATED and isinstance(payload, dict) and "url" in payload:
            response_headers["Location"] = str(payload["url"])
        if link:
            response_headers["Link"] = link
        return _Response(status, response_headers, body)
