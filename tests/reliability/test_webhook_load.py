"""The webhook server under load: 1,000 deliveries over real HTTP from 8 concurrent clients.

The mix is what GitHub and the internet send a public endpoint: valid deliveries
(distinct delivery ids and head shas), redeliveries (the same delivery id again, as
GitHub's "Redeliver" button sends), second events for a head already seen (a new
delivery id, the same repository, pull request and head sha) and badly signed ones.
Each valid head must reach the handler exactly once; duplicates are answered without a
second handling; bad signatures are 401; nothing is 5xx; the server is alive at the end
and its memory did not grow by more than :data:`MAX_RSS_GROWTH_MB`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import resource
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

from teamlens.bot.webhook import PullRequestEvent
from tests.bot.test_webhook import SECRET, pr_payload, running_server, settings, sign

DELIVERIES = 1000
VALID = 600
REDELIVERED = 150  # the same delivery id (and body) as a valid one
SAME_HEAD = 100  # a new delivery id for a head that a valid one names
BAD_SIGNATURE = 150
CLIENTS = 8
MAX_RSS_GROWTH_MB = 50
SEED = 20261129


@dataclass(frozen=True)
class Delivery:
    kind: str  # "valid", "redelivered", "same-head" or "bad"
    group: int  # the valid delivery it belongs to (bad ones: their own number)
    delivery_id: str
    body: bytes
    signature: str | None


@dataclass
class Handler:
    """Records every event the worker hands over; thread-safe and fast."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    heads: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    deliveries: list[str] = field(default_factory=list)

    def __call__(self, event: PullRequestEvent) -> None:
        with self.lock:
            self.heads[event.head_key] += 1
            self.deliveries.append(event.delivery_id)


def _payload(rng: random.Random, number: int, action: str = "opened") -> dict[str, object]:
    head = f"{rng.getrandbits(160):040x}"
    return pr_payload(action, number=number, head_sha=head)


def _bad_signature(rng: random.Random, body: bytes) -> str | None:
    good = sign(body)
    return rng.choice(
        [
            None,  # missing
            sign(body, "not-the-secret"),  # another secret
            sign(body + b" "),  # signs another body
            good[:-1] + ("0" if good[-1] != "0" else "1"),  # one hex digit off
            good.upper(),  # SHA256=... in capitals
            "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest(),  # the old header
            "",
        ]
    )


def plan(seed: int = SEED) -> list[Delivery]:
    """The 1,000 deliveries, shuffled; bodies and ids are reproducible from the seed."""
    rng = random.Random(seed)
    out: list[Delivery] = []
    valid: list[tuple[Delivery, dict[str, object]]] = []
    for i in range(VALID):
        payload = _payload(rng, number=1 + i % 97)
        body = json.dumps(payload).encode()
        delivery = Delivery("valid", i, str(uuid.UUID(int=rng.getrandbits(128))), body, sign(body))
        valid.append((delivery, payload))
        out.append(delivery)
    for _ in range(REDELIVERED):
        original, _ = rng.choice(valid)
        out.append(
            Delivery(
                "redelivered",
                original.group,
                original.delivery_id,
                original.body,
                original.signature,
            )
        )
    for _ in range(SAME_HEAD):
        original, payload = rng.choice(valid)
        again = json.loads(json.dumps(payload))
        again["action"] = "synchronize"
        body = json.dumps(again).encode()
        delivery_id = str(uuid.UUID(int=rng.getrandbits(128)))
        out.append(Delivery("same-head", original.group, delivery_id, body, sign(body)))
    for i in range(BAD_SIGNATURE):
        body = json.dumps(_payload(rng, number=1000 + i)).encode()
        delivery_id = str(uuid.UUID(int=rng.getrandbits(128)))
        out.append(Delivery("bad", VALID + i, delivery_id, body, _bad_signature(rng, body)))
    assert len(out) == DELIVERIES
    rng.shuffle(out)
    return out


@dataclass(frozen=True)
class Answer:
    delivery: Delivery
    status: int
    body: dict[str, object]


_local = threading.local()


def _session() -> requests.Session:
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def _send(base_url: str, delivery: Delivery) -> Answer:
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery.delivery_id,
    }
    if delivery.signature is not None:
        headers["X-Hub-Signature-256"] = delivery.signature
    response = _session().post(
        f"{base_url}/webhook", data=delivery.body, headers=headers, timeout=30
    )
    return Answer(delivery, response.status_code, response.json())


def rss_mb() -> float:
    """This process's resident memory now (Linux), else its peak (ru_maxrss)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_thousand_mixed_deliveries_from_eight_clients() -> None:
    deliveries = plan()
    handler = Handler()
    with running_server(settings(), handler) as srv:
        # Warm up (imports, first allocations, connection set-up) before measuring.
        warm = [_send(srv.base_url, d) for d in plan(seed=1)[:50] if d.kind == "bad"]
        assert {a.status for a in warm} == {401}
        rss_before = rss_mb()

        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(lambda d: _send(srv.base_url, d), deliveries))
        elapsed = time.perf_counter() - started
        assert srv.worker.join_idle(30), "the worker did not drain its queue"
        rss_after = rss_mb()
        health = srv.health()

    rate = DELIVERIES / elapsed
    print(  # shown with -s; docs/reliability.md quotes it
        f"\n{DELIVERIES} deliveries from {CLIENTS} clients in {elapsed:.2f} s: "
        f"{rate:.0f} deliveries/s; RSS {rss_before:.1f} MB -> {rss_after:.1f} MB"
    )

    statuses = Counter(a.status for a in answers)
    assert not [a for a in answers if a.status >= 500], statuses
    assert health == {"status": "ok", "queued": 0, "processed": VALID, "failed": 0}

    # Every bad signature is 401, and none of their heads reached the handler.
    bad = [a for a in answers if a.delivery.kind == "bad"]
    assert len(bad) == BAD_SIGNATURE and all(a.status == 401 for a in bad)

    # Per valid head: exactly one delivery queued it, every other one is a duplicate.
    by_group: dict[int, list[Answer]] = {}
    for a in answers:
        if a.delivery.kind != "bad":
            by_group.setdefault(a.delivery.group, []).append(a)
    assert len(by_group) == VALID
    for group, group_answers in by_group.items():
        queued = [a for a in group_answers if (a.status, a.body) == (202, {"queued": True})]
        duplicates = [a for a in group_answers if (a.status, a.body) == (200, {"duplicate": True})]
        assert len(queued) == 1, (group, [(a.delivery.kind, a.status) for a in group_answers])
        assert len(duplicates) == len(group_answers) - 1

    # The handler saw each valid head exactly once, under a delivery id of its group.
    assert len(handler.heads) == VALID
    assert set(handler.heads.values()) == {1}
    sent_ids = {a.delivery.delivery_id for a in answers if a.delivery.kind != "bad"}
    assert set(handler.deliveries) <= sent_ids
    assert len(handler.deliveries) == VALID

    assert rss_after - rss_before < MAX_RSS_GROWTH_MB, (rss_before, rss_after)
