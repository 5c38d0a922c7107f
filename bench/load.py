"""The load generator: a separate process that drives real HTTP requests at the server.

Reads one scenario as JSON on stdin, runs ``concurrency`` threads (each with its
own keep-alive connection and token, or session cookie for a web page) for ``duration`` seconds or until its work
items run out, and prints per-tag figures as JSON on stdout. It imports nothing of
the application, and speaks HTTP with the standard library's ``http.client``: the
load generator shares this machine's two cores with the server, so a lighter
client (httpx costs several times more CPU per request) leaves more to measure.
"""

from __future__ import annotations

import http.client
import itertools
import json
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Answer:
    status_code: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


class Client:
    """One keep-alive HTTP/1.1 connection with fixed headers; reconnects if the server closes it."""

    def __init__(self, base_url: str, headers: dict):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.headers = headers
        self.connection = None

    def request(self, method: str, path: str, *, json_body=None, headers=None) -> Answer:
        body = None if json_body is None else json.dumps(json_body).encode()
        all_headers = self.headers | (headers or {})
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.connection.request(method, path, body=body, headers=all_headers)
                response = self.connection.getresponse()
                data = response.read()
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self.close()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {}
        self.queries: dict[str, list[int]] = {}
        self.statuses: dict[str, Counter] = {}

    def add(self, tag: str, seconds: float, response: Answer) -> None:
        with self.lock:
            self.latencies.setdefault(tag, []).append(seconds)
            self.statuses.setdefault(tag, Counter())[response.status_code] += 1
            header = response.headers.get("x-db-queries")
            if header is not None:
                self.queries.setdefault(tag, []).append(int(header))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def _timed(client: Client, recorder: Recorder, tag: str, method: str, url: str, **kwargs) -> Answer:
    started = time.perf_counter()
    response = client.request(method, url, **kwargs)
    recorder.add(tag, time.perf_counter() - started, response)
    return response


def _credentials(spec: dict, number: int) -> dict:
    """Thread ``number``'s headers: a token for the API, a signed-in session cookie for a web page."""
    if spec.get("cookies"):
        return {"Cookie": spec["cookies"][number % len(spec["cookies"])], "Accept": "text/html"}
    return {"Authorization": f"Bearer {spec['tokens'][number % len(spec['tokens'])]}", "Accept": "application/json"}


def run(spec: dict) -> dict:
    recorder = Recorder()
    kind = spec["kind"]
    items = iter(spec["items"]) if kind != "get" else itertools.cycle(spec["items"])
    items_lock = threading.Lock()
    deadline = time.monotonic() + spec["duration"]

    def next_item():
        with items_lock:
            return next(items, None)

    def worker(number: int) -> None:
        client = Client(spec["base_url"], _credentials(spec, number))
        try:
            while time.monotonic() < deadline:
                item = next_item()
                if item is None:
                    return
                if kind == "get":
                    _timed(client, recorder, spec["name"], "GET", item)
                elif kind == "accept":  # as a caseworker of the referral's recipient
                    _timed(client, recorder, spec["name"], "POST", f"/api/v1/referrals/{item['id']}/accept/",
                           json_body={}, headers={"Idempotency-Key": str(uuid.uuid4()),
                                                  "Authorization": f"Bearer {item['token']}"})
                elif kind == "create_send":
                    body = {"case": item["case"], "recipient": item["recipient"], "consent": item["consent"],
                            "kind": "service", "phenomenon": "teen_pimp", "urgency": "urgent",
                            "requested_service": "counselling", "reason": "Benchmark referral, fictional.",
                            "age": 15, "gender": "female"}
                    created = _timed(client, recorder, "referral create (draft)", "POST", "/api/v1/referrals/",
                                     json_body=body, headers={"Idempotency-Key": str(uuid.uuid4())})
                    if created.status_code == 201:
                        _timed(client, recorder, "referral send", "POST",
                               f"/api/v1/referrals/{created.json()['id']}/send/", json_body={},
                               headers={"Idempotency-Key": str(uuid.uuid4())})
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(spec["concurrency"])]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    results = {}
    for tag, latencies in recorder.latencies.items():
        statuses = recorder.statuses[tag]
        queries = recorder.queries.get(tag, [])
        results[tag] = {
            "requests": len(latencies),
            "errors": sum(n for status, n in statuses.items() if status >= 400),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "rps": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 0.50) * 1000,
            "p95_ms": percentile(latencies, 0.95) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000,
            "queries_avg": sum(queries) / len(queries) if queries else None,
            "queries_max": max(queries) if queries else None,
        }
    return results


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
