"""Throughput of the Zendesk sandbox on ticket show + update (every rule, audit and notification on).

The sandbox runs in this process; the client runs in another process (keep-alive HTTP/1.1, raw
http.client so the client is not the bottleneck). Prints requests per second.

    .venv/bin/python benchmarks/sandbox_throughput.py [--seconds 5] [--clients 1]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing
import time

from sync.sandbox import Sandbox


def _client(port: int, auth: str, ticket_ids: list[int], seconds: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    n, i = 0, 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        tid = ticket_ids[i % len(ticket_ids)]
        i += 1
        conn.request("GET", f"/api/v2/tickets/{tid}.json", headers=headers)
        conn.getresponse().read()
        body = json.dumps({"ticket": {"comment": {"body": f"reply {i}", "public": True}}})
        conn.request("PUT", f"/api/v2/tickets/{tid}.json", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status
        n += 2
    out.put(n)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", type=int, default=1)
    args = ap.parse_args()
    with Sandbox(rate_limits=False) as zd:
        auth = "Basic " + base64.b64encode(f"{zd.agent_email}/token:{zd.agent_token}".encode()).decode()
        requester = zd.create_end_user("bench@sandbox.test", "Bench")
        conn = http.client.HTTPConnection("127.0.0.1", zd.port)
        ids = []
        for k in range(50):
            body = json.dumps({"ticket": {"subject": f"t{k}", "comment": {"body": "hi"},
                                          "requester_id": requester["id"]}})
            conn.request("POST", "/api/v2/tickets.json", body=body,
                         headers={"Authorization": auth, "Content-Type": "application/json"})
            ids.append(json.loads(conn.getresponse().read())["ticket"]["id"])
        out: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        procs = [multiprocessing.Process(target=_client, args=(zd.port, auth, ids, args.seconds, out))
                 for _ in range(args.clients)]
        start = time.perf_counter()
        for p in procs:
            p.start()
        total = sum(out.get() for _ in procs)
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - start
        print(f"{total} requests in {elapsed:.2f} s: {total / elapsed:.0f} requests/s "
              f"(show + update, {args.clients} client process(es), emails logged: {len(zd.emails())})")


if __name__ == "__main__":
    main()
