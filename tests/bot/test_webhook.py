"""The webhook server, served by a real uvicorn on 127.0.0.1 and driven over real HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import pytest
import requests
import uvicorn

from teamlens.bot.webhook import (
    SECRET_ENV,
    MissingSecretError,
    PullRequestEvent,
    QueueFullError,
    WebhookConfigError,
    WebhookSettings,
    Worker,
    create_app,
)

SECRET = "whsec-test-7c1e9a52d4"
REPO = "octo-org/widgets"
SHA_A = "a" * 40
SHA_B = "b" * 40
SHA_C = "c" * 40
BASE = "0123456789abcdef0123456789abcdef01234567"
LOGIN = "mona-the-octocat"
EMAIL = "mona.octocat@example.com"
TITLE = "Rework the frobnicator for the quarterly numbers"


def settings(**overrides: Any) -> WebhookSettings:
    values: dict[str, Any] = {"secret": SECRET, "port": 0, "shutdown_timeout": 5.0}
    values.update(overrides)
    return WebhookSettings(**values)


def pr_payload(
    action: str = "opened",
    *,
    number: int = 7,
    head_sha: str = SHA_A,
    draft: bool = False,
    installation: int | None = 4242,
) -> dict[str, Any]:
    """A pull_request payload shaped like GitHub's, people included."""
    user = {"login": LOGIN, "id": 583231, "type": "User", "email": EMAIL}
    payload: dict[str, Any] = {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "title": TITLE,
            "body": f"cc @{LOGIN}, mail {EMAIL}",
            "draft": draft,
            "user": user,
            "head": {"ref": "feature/frob", "sha": head_sha, "user": user},
            "base": {"ref": "main", "sha": BASE, "user": user},
        },
        "repository": {"full_name": REPO, "owner": user},
        "sender": user,
    }
    if installation is not None:
        payload["installation"] = {"id": installation}
    return payload


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Recorder:
    """A thread-safe handler that records its events."""

    fail_numbers: frozenset[int] = frozenset()
    events: list[PullRequestEvent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: PullRequestEvent) -> None:
        with self.lock:
            self.events.append(event)
        if event.number in self.fail_numbers:
            raise RuntimeError(f"review failed with secret {SECRET} for {LOGIN} <{EMAIL}>")

    def snapshot(self) -> list[PullRequestEvent]:
        with self.lock:
            return list(self.events)


@dataclass
class Running:
    base_url: str
    port: int
    worker: Worker
    http: requests.Session
    counter: int = 0

    def post(
        self,
        payload: Mapping[str, Any] | bytes,
        *,
        event: str = "pull_request",
        delivery: str | None = None,
        signature: str | bool | None = True,
    ) -> requests.Response:
        """POST /webhook; ``signature`` True signs with SECRET, None sends none."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if delivery is None:
            self.counter += 1
            delivery = f"delivery-{self.counter}"
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
        }
        if signature is True:
            headers["X-Hub-Signature-256"] = sign(body)
        elif isinstance(signature, str):
            headers["X-Hub-Signature-256"] = signature
        return self.http.post(f"{self.base_url}/webhook", data=body, headers=headers, timeout=5)

    def health(self) -> dict[str, Any]:
        response = self.http.get(f"{self.base_url}/health", timeout=5)
        assert response.status_code == 200
        result: dict[str, Any] = response.json()
        return result


@contextmanager
def running_server(
    config: WebhookSettings,
    handler: Callable[[PullRequestEvent], None],
    *,
    log_level: str = "warning",
) -> Iterator[Running]:
    app, worker = create_app(config, handler)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level=log_level, log_config=None)
    )
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped during startup"
        assert time.monotonic() < deadline, "uvicorn did not start in 5 s"
        time.sleep(0.01)
    port = int(server.servers[0].sockets[0].getsockname()[1])
    with requests.Session() as http:
        try:
            yield Running(f"http://127.0.0.1:{port}", port, worker, http)
        finally:
            server.should_exit = True
            thread.join(10)
    assert not thread.is_alive(), "uvicorn did not shut down"
    assert not worker.is_alive


def raw_http(port: int, request: bytes, *, timeout: float = 3.0) -> bytes:
    """Send bytes, return everything read until the server closes (or the head if it
    does not); the request's body is whatever ``request`` holds, complete or not."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    return received


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


# ---------------------------------------------------------------------------------------


def test_signed_opened_event_is_queued_and_handled_once_with_the_right_fields() -> None:
    recorder = Recorder()
    with running_server(settings(), recorder) as srv:
        started = time.perf_counter()
        response = srv.post(pr_payload(), delivery="6f1c0b2e-0000-4000-8000-000000000001")
        elapsed = time.perf_counter() - started
        assert response.status_code == 202, response.text
        assert response.json() == {"queued": True}
        assert elapsed < 1.0
        assert srv.worker.join_idle(5)
        assert srv.health() == {"status": "ok", "queued": 0, "processed": 1, "failed": 0}

    assert recorder.snapshot() == [
        PullRequestEvent(
            delivery_id="6f1c0b2e-0000-4000-8000-000000000001",
            action="opened",
            repository=REPO,
            number=7,
            head_sha=SHA_A,
            base_sha=BASE,
            head_ref="feature/frob",
            base_ref="main",
            draft=False,
            installation_id=4242,
        )
    ]
    kept = json.dumps(asdict(recorder.events[0]))
    assert LOGIN not in kept and EMAIL not in kept and TITLE not in kept


def test_missing_or_wrong_signature_is_401_and_does_no_work() -> None:
    recorder = Recorder()
    with running_server(settings(), recorder) as srv:
        body = json.dumps(pr_payload()).encode()
        attempts: list[str | None] = [
            None,
            sign(body, "not-the-secret"),
            sign(body + b" "),
            sign(body)[:-2],
            sign(body).replace("sha256=", "sha1="),
            "",
        ]
        for signature in attempts:
            response = srv.post(body, delivery="d-unauth", signature=signature)
            assert response.status_code == 401, signature
        assert srv.worker.join_idle(2)
        assert recorder.snapshot() == []
        assert srv.health()["processed"] == 0

        # unauthenticated deliveries leave nothing behind: the real one is not a duplicate
        assert srv.post(body, delivery="d-unauth").status_code == 202
        assert srv.worker.join_idle(5)
    assert len(recorder.snapshot()) == 1


def test_redeliveries_and_second_events_for_the_same_head_do_no_second_work() -> None:
    recorder = Recorder()
    with running_server(settings(), recorder) as srv:
        assert srv.post(pr_payload(), delivery="d-1").status_code == 202
        again = srv.post(pr_payload(), delivery="d-1")
        assert (again.status_code, again.json()) == (200, {"duplicate": True})
        same_head = srv.post(pr_payload("reopened"), delivery="d-2")
        assert (same_head.status_code, same_head.json()) == (200, {"duplicate": True})
        assert srv.worker.join_idle(5)
        assert len(recorder.snapshot()) == 1

        pushed = srv.post(pr_payload("synchronize", head_sha=SHA_B), delivery="d-3")
        assert pushed.status_code == 202
        # the same head of another pull request is other work
        assert srv.post(pr_payload(number=8), delivery="d-4").status_code == 202
        assert srv.worker.join_idle(5)
    assert [(e.number, e.action, e.head_sha) for e in recorder.snapshot()] == [
        (7, "opened", SHA_A),
        (7, "synchronize", SHA_B),
        (8, "opened", SHA_A),
    ]


def test_malformed_json_and_oversized_bodies_are_refused_and_the_server_goes_on() -> None:
    recorder = Recorder()
    limit = 4096
    with running_server(settings(max_body_bytes=limit), recorder) as srv:
        malformed = b'{"action": "opened", "pull_request": '
        assert srv.post(malformed).status_code == 400
        assert srv.post(b"[" * 3000).status_code == 400  # deep nesting, not a crash
        assert srv.post(b"\xff\xfe not utf-8").status_code == 400
        assert srv.post(b'["a list"]').status_code == 400
        unreadable = pr_payload()
        unreadable["pull_request"]["head"]["sha"] = "not-a-sha"
        assert srv.post(unreadable).status_code == 400

        big = json.dumps({"pad": "x" * limit, **pr_payload()}).encode()
        response = srv.post(big)
        assert response.status_code == 413
        assert srv.health()["status"] == "ok"

        # Content-Length above the limit: refused from the head alone, the body never sent
        head = (
            "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nX-GitHub-Event: pull_request\r\n"
            f"X-GitHub-Delivery: d-big\r\nContent-Length: {100 * 1024 * 1024}\r\n\r\n"
        ).encode()
        answer = raw_http(srv.port, head)
        assert status_of(answer) == 413
        assert b"connection: close" in answer.lower()

        # chunked, no Content-Length: refused once the chunks pass the limit
        chunks = (b"400\r\n" + b"x" * 1024 + b"\r\n") * 5  # 5 KiB; no terminating chunk
        chunked = (
            b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            b"X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: d-chunked\r\n\r\n" + chunks
        )
        assert status_of(raw_http(srv.port, chunked)) == 413

        assert srv.health() == {"status": "ok", "queued": 0, "processed": 0, "failed": 0}
        assert srv.post(pr_payload()).status_code == 202
        assert srv.worker.join_idle(5)
    assert len(recorder.snapshot()) == 1


def test_ping_other_events_and_other_actions() -> None:
    recorder = Recorder()
    with running_server(settings(), recorder) as srv:
        ping = srv.post({"zen": "Keep it logically awesome.", "hook_id": 1}, event="ping")
        assert (ping.status_code, ping.json()) == (200, {"ok": True})
        issues = srv.post({"action": "opened"}, event="issues")
        assert (issues.status_code, issues.json()) == (202, {"ignored": "event issues"})
        closed = srv.post(pr_payload("closed"))
        assert (closed.status_code, closed.json()) == (202, {"ignored": "action closed"})
        assert srv.post(pr_payload(), event="Pull Request!").status_code == 400
        form = srv.http.post(
            f"{srv.base_url}/webhook",
            data=b"payload=%7B%7D",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": "d-form",
                "X-Hub-Signature-256": sign(b"payload=%7B%7D"),
            },
            timeout=5,
        )
        assert form.status_code == 415
        assert srv.worker.join_idle(2)
    assert recorder.snapshot() == []


def test_drafts_are_skipped_and_ready_for_review_is_processed() -> None:
    recorder = Recorder()
    with running_server(settings(), recorder) as srv:
        draft = srv.post(pr_payload(draft=True))
        assert (draft.status_code, draft.json()) == (202, {"ignored": "draft"})
        assert srv.post(pr_payload("synchronize", draft=True, head_sha=SHA_B)).status_code == 202
        assert srv.worker.join_idle(2)
        assert recorder.snapshot() == []
        ready = srv.post(pr_payload("ready_for_review", head_sha=SHA_B))
        assert ready.status_code == 202
        assert srv.worker.join_idle(5)
    assert [(e.action, e.draft) for e in recorder.snapshot()] == [("ready_for_review", False)]

    drafts_too = Recorder()
    with running_server(settings(review_drafts=True), drafts_too) as srv:
        assert srv.post(pr_payload(draft=True)).status_code == 202
        assert srv.worker.join_idle(5)
    assert [e.draft for e in drafts_too.snapshot()] == [True]


def test_a_failing_handler_is_counted_and_the_worker_goes_on() -> None:
    recorder = Recorder(fail_numbers=frozenset({1}))
    with running_server(settings(), recorder) as srv:
        assert srv.post(pr_payload(number=1), delivery="d-fail").status_code == 202
        assert srv.worker.join_idle(5)
        assert srv.health() == {"status": "ok", "queued": 0, "processed": 0, "failed": 1}

        assert srv.post(pr_payload(number=2)).status_code == 202
        assert srv.worker.join_idle(5)
        assert srv.health() == {"status": "ok", "queued": 0, "processed": 1, "failed": 1}

        # a failed review is forgotten, so GitHub's "Redeliver" retries it
        assert srv.post(pr_payload(number=1), delivery="d-fail").status_code == 202
        assert srv.worker.join_idle(5)
        assert srv.health()["failed"] == 2
    assert [e.number for e in recorder.snapshot()] == [1, 2, 1]


def test_a_full_queue_is_503_with_retry_after() -> None:
    release = threading.Event()
    running = threading.Event()
    seen: list[int] = []

    def blocking(event: PullRequestEvent) -> None:
        seen.append(event.number)
        running.set()
        release.wait(10)

    with running_server(settings(queue_size=1), blocking) as srv:
        try:
            assert srv.post(pr_payload(number=1)).status_code == 202
            assert running.wait(5)  # number 1 runs, the queue is empty again
            assert srv.post(pr_payload(number=2)).status_code == 202  # fills the queue
            full = srv.post(pr_payload(number=3), delivery="d-3")
            assert full.status_code == 503
            assert int(full.headers["Retry-After"]) > 0
            assert srv.health()["queued"] == 2
        finally:
            release.set()
        assert srv.worker.join_idle(5)
        # the refused delivery was not remembered: its retry is accepted
        assert srv.post(pr_payload(number=3), delivery="d-3").status_code == 202
        assert srv.worker.join_idle(5)
    assert seen == [1, 2, 3]


def test_the_answer_comes_within_a_second_while_the_handler_takes_three() -> None:
    finished: list[float] = []

    def slow(event: PullRequestEvent) -> None:
        time.sleep(3)
        finished.append(time.perf_counter())

    with running_server(settings(), slow) as srv:
        times: list[float] = []
        for sha in (SHA_A, SHA_B, SHA_C):
            started = time.perf_counter()
            response = srv.post(pr_payload("synchronize", head_sha=sha))
            times.append(time.perf_counter() - started)
            assert response.status_code == 202
        answered = time.perf_counter()
        assert max(times) < 1.0, times
        assert srv.health()["queued"] == 3
        assert srv.worker.stop(0.1) is False  # the first is still running; two are dropped
        assert srv.worker.join_idle(5)
    assert len(finished) == 1
    assert finished[0] - answered > 2.0


def test_nothing_secret_or_personal_is_ever_logged(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "",
        "teamlens.bot",
        "teamlens.bot.webhook",
        "uvicorn",
        "uvicorn.error",
        "uvicorn.access",
    ):
        caplog.set_level(logging.DEBUG, logger=name)
    for name in ("uvicorn", "uvicorn.access"):  # uvicorn's own dictConfig turns these off
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)

    recorder = Recorder(fail_numbers=frozenset({9}))
    sent_bodies: list[bytes] = []
    with running_server(settings(max_body_bytes=8192), recorder, log_level="debug") as srv:

        def post(payload: Mapping[str, Any] | bytes, **kwargs: Any) -> requests.Response:
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            sent_bodies.append(body)
            return srv.post(body, **kwargs)

        assert post(pr_payload(), delivery="d-log-1").status_code == 202
        assert post(pr_payload(), delivery="d-log-1").status_code == 200
        assert post(pr_payload(number=9), delivery="d-log-2").status_code == 202
        bad = json.dumps(pr_payload(number=3)).encode()
        assert post(bad, signature=sign(bad, "wrong-secret")).status_code == 401
        assert post(bad, signature=None).status_code == 401
        assert post(f'{{"login": "{LOGIN}", "email": "{EMAIL}"'.encode()).status_code == 400
        oversized = json.dumps({"pad": EMAIL * 1000, **pr_payload()}).encode()
        assert post(oversized).status_code == 413
        assert post({"zen": TITLE}, event="ping").status_code == 200
        assert post(pr_payload(draft=True, head_sha=SHA_C)).status_code == 202
        assert srv.worker.join_idle(5)
        assert srv.health()["failed"] == 1

    records = caplog.records
    assert any(r.name == "teamlens.bot.webhook" and "queued" in r.getMessage() for r in records)
    assert any(
        r.name == "teamlens.bot.webhook" and "handler failed" in r.getMessage() for r in records
    )
    assert any(r.name == "uvicorn.access" for r in records), "uvicorn's logs were not captured"

    logged = caplog.text + "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''} {vars(r)!r}" for r in records
    )
    forbidden = {SECRET, LOGIN, EMAIL, TITLE, "sha256="}
    for body in sent_bodies:
        forbidden.add(sign(body))
        forbidden.add(sign(body).removeprefix("sha256="))
        forbidden.add(body.decode("utf-8", "replace"))
    forbidden.add(sign(bad, "wrong-secret").removeprefix("sha256="))
    for text in forbidden:
        assert text not in logged, f"logged: {text[:40]}"


# ---------------------------------------------------------------------------------------


def test_settings_are_validated_and_keep_the_secret_out_of_repr() -> None:
    with pytest.raises(WebhookConfigError):
        WebhookSettings(secret="")
    with pytest.raises(WebhookConfigError):
        WebhookSettings(secret=SECRET, queue_size=0)
    with pytest.raises(WebhookConfigError):
        WebhookSettings(secret=SECRET, port=70000)
    assert SECRET not in repr(WebhookSettings(secret=SECRET))
    with pytest.raises(MissingSecretError, match=SECRET_ENV):
        WebhookSettings.from_env({})
    from_env = WebhookSettings.from_env({SECRET_ENV: SECRET}, port=9000)
    assert (from_env.secret, from_env.host, from_env.port) == (SECRET, "127.0.0.1", 9000)


def test_worker_queue_bound_and_join_idle_timeout() -> None:
    release = threading.Event()

    def wait_for_release(event: PullRequestEvent) -> None:
        release.wait(5)

    worker = Worker(wait_for_release, queue_size=2)
    event = PullRequestEvent("d", "opened", REPO, 1, SHA_A, BASE, "f", "main", False, None)
    worker.submit(event)
    worker.submit(event)
    with pytest.raises(QueueFullError):
        worker.submit(event)
    assert worker.join_idle(0.05) is False  # not started
    worker.start()
    try:
        assert worker.join_idle(0.05) is False
        release.set()
        assert worker.join_idle(5)
        assert worker.stats().processed == 2
    finally:
        assert worker.stop(5)
