"""Outbound cost: Zendesk requests per console operation, and the worker's time against bare zenpy calls.

    .venv/bin/python -m benchmarks.outbound [--cases 200] [--replies 3] [--rounds 1] [--profile FILE]

Steady state: the account, its users and their Zendesk identities are delivered first (a known user costs no
request); then ``--cases`` submits, ``--replies`` replies per case and one close per case are queued and
the outbox worker drains them.  The minimum is one request per operation (one ticket create, one update per
reply or close).  The same operations are then made with bare zenpy calls against the same sandbox (a
separate process, rate limits off), and both times are printed side by side.  casesync sends its ticket
writes as JSON on a requests session rather than through zenpy's objects, so a third figure sends the same
JSON with a bare requests session: the difference between it and the worker is casesync's bookkeeping
(store reads, completion commits, mapping).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, Ticket

from sync.api import SupportCases
from sync.engine import SyncEngine
from sync.logging import configure_logging
from sync.settings import Settings
from sync.testing.processes import SandboxProcess

__all__ = ["main", "measure"]


def _drain(engine: SyncEngine) -> None:
    for _ in range(1000):
        report = engine.outbox.run_once()
        if report.pending == 0 and not report.delivered:
            return
    raise RuntimeError("the outbox did not drain")


def measure(cases: int, replies: int, rpm: int = 1_000_000, profile: Path | None = None) -> dict[str, Any]:
    """Run both sides; returns the figures.  ``profile``: write pyinstrument's text report of the worker's
    drain there (the profiler's own cost inflates ``worker_s`` in that run)."""
    with tempfile.TemporaryDirectory() as tmp, SandboxProcess(rate_limits=False, requests_per_minute=rpm) as zd:
        settings = Settings(
            zendesk_url=zd.url, zendesk_email=zd.agent_email, zendesk_token=zd.agent_token,
            database_url=f"sqlite:///{Path(tmp) / 'o.db'}", default_assignee_email=zd.agent_email,
        )
        engine = SyncEngine(settings)
        support = SupportCases(store=engine.store)
        support.upsert_account("acme", "Acme")
        support.upsert_user("acme", "ann", "ann@acme.test", "Ann", admin=True)
        support.upsert_user("acme", "bob", "bob@acme.test", "Bob")
        warm = support.submit("acme", "bob", "warm-up", "warm-up")  # users, organization and identities known
        support.close("acme", warm.id, "bob")
        _drain(engine)

        ids = [support.submit("acme", "bob", f"Case {i}", f"Problem {i}").id for i in range(cases)]
        for r in range(replies):
            for case_id in ids:
                support.reply("acme", case_id, "bob", f"Reply {r} to {case_id}")
        for case_id in ids:
            support.close("acme", case_id, "bob")
        operations = cases * (2 + replies)
        before = zd.stats()
        profiler = None
        if profile is not None:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
        started, cpu_started = time.perf_counter(), time.process_time()
        _drain(engine)
        worker_s = time.perf_counter() - started
        worker_cpu_s = time.process_time() - cpu_started
        if profiler is not None and profile is not None:
            profiler.stop()
            profile.write_text(profiler.output_text(unicode=True, show_all=False))
        after = zd.stats()
        requests_made = after["total"] - before["total"]
        by_route = {k: n - before["requests"].get(k, 0) for k, n in after["requests"].items()
                    if n != before["requests"].get(k, 0)}
        with engine.store.read() as tx:
            bob = tx.get_user("acme", "bob")
            account = tx.get_account("acme")
        assert account is not None and account.zendesk_org_id is not None
        org_id = account.zendesk_org_id
        assert bob is not None and bob.zendesk_user_id is not None
        requester_id = bob.zendesk_user_id
        engine.close()

        # The same operations with bare zenpy: the same Zendesk writes (fields, CCs, tags, markers) with none
        # of the bookkeeping — the least any client could do.
        ccs = [{"user_email": "ann@acme.test", "action": "put"}]
        client = _bare_zenpy(zd.url, zd.agent_email, zd.agent_token)
        me = client.users.me().id
        started = time.perf_counter()
        tickets = []
        for i in range(cases):
            created = client.tickets.create(Ticket(
                subject=f"Case {i}", requester_id=requester_id, organization_id=org_id,
                external_id=f"bare-case:{i}", tags=["console_case", f"console_case_{i}"], email_ccs=ccs,
                comment=Comment(body=f"Problem {i}", author_id=requester_id, public=True),
            ))
            tickets.append(created.ticket.id)
        for r in range(replies):
            for n, tid in enumerate(tickets):
                client.tickets.update(Ticket(
                    id=tid, status="open", metadata={"casesync_message_id": n * 10 + r},
                    comment=Comment(body=f"Reply {r}", author_id=requester_id, public=True),
                ))
        for tid in tickets:
            client.tickets.update(Ticket(id=tid, status="closed", assignee_id=me))
        bare_s = time.perf_counter() - started
        bare_http_s, bare_http_cpu_s = _bare_http(
            zd.url, zd.agent_email, zd.agent_token, cases, replies, requester_id, org_id, me
        )
    return {
        "operations": operations, "requests": requests_made, "requests_per_operation": requests_made / operations,
        "minimum_per_operation": 1.0, "ratio_to_minimum": requests_made / operations,
        "by_route": by_route, "worker_s": worker_s, "bare_zenpy_s": bare_s, "worker_to_bare": worker_s / bare_s,
        "bare_http_s": bare_http_s, "bookkeeping_ms_per_operation": (worker_s - bare_http_s) * 1000 / operations,
        "worker_to_bare_http": worker_s / bare_http_s,
        # This process's CPU seconds on each side (the sandbox's own are the same for both): a figure the
        # other load of a shared machine moves far less than the elapsed times.
        "worker_cpu_s": worker_cpu_s, "bare_http_cpu_s": bare_http_cpu_s,
        "worker_cpu_to_bare_http_cpu": worker_cpu_s / bare_http_cpu_s,
    }


def _bare_http(
    url: str, email: str, token: str, cases: int, replies: int, requester_id: int, org_id: int, me: int
) -> tuple[float, float]:
    """The same writes as plain JSON requests on one ``requests`` session; returns the seconds taken, elapsed
    and of this process's CPU."""
    session = requests.Session()
    session.auth = (f"{email}/token", token)
    api = f"{url}/api/v2"
    ccs = [{"user_email": "ann@acme.test", "action": "put"}]
    started, cpu_started = time.perf_counter(), time.process_time()
    tickets = []
    for i in range(cases):
        response = session.post(f"{api}/tickets.json", json={"ticket": {
            "subject": f"Case {i}", "requester_id": requester_id, "organization_id": org_id,
            "external_id": f"http-case:{i}", "tags": ["console_case", f"console_case_{i}"], "email_ccs": ccs,
            "comment": {"body": f"Problem {i}", "author_id": requester_id, "public": True},
        }}, headers={"Idempotency-Key": f"http-case:{i}"})
        response.raise_for_status()
        tickets.append(response.json()["ticket"]["id"])
    for r in range(replies):
        for n, tid in enumerate(tickets):
            session.put(f"{api}/tickets/{tid}.json", json={"ticket": {
                "status": "open", "metadata": {"casesync_message_id": n * 10 + r},
                "comment": {"body": f"Reply {r}", "author_id": requester_id, "public": True},
            }}).raise_for_status()
    for tid in tickets:
        session.put(f"{api}/tickets/{tid}.json", json={"ticket": {"status": "closed", "assignee_id": me}}
                    ).raise_for_status()
    return time.perf_counter() - started, time.process_time() - cpu_started


def _bare_zenpy(url: str, email: str, token: str) -> Zenpy:
    """Plain zenpy (its own session, cache off) aimed at the sandbox's http://127.0.0.1:PORT.

    zenpy builds ``https://{subdomain}.{domain}``: the host is split at its first dot and every API object
    gets the ``http`` scheme.
    """
    from urllib.parse import urlsplit

    from zenpy.lib.api import BaseApi

    host = urlsplit(url).netloc
    subdomain, _, domain = host.partition(".")
    client = Zenpy(subdomain=subdomain, domain=domain, email=email, token=token, disable_cache=True)
    seen: set[int] = set()
    todo: list[object] = [client]
    while todo:
        for value in list(vars(todo.pop()).values()):
            if isinstance(value, BaseApi) and id(value) not in seen:
                seen.add(id(value))
                value.protocol = "http"
                todo.append(value)
    return client


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--replies", type=int, default=3)
    ap.add_argument("--rpm", type=int, default=1_000_000,
                    help="the X-Rate-Limit the sandbox announces; casesync paces itself by it, bare zenpy does not")
    ap.add_argument("--profile", type=Path, default=None,
                    help="write pyinstrument's report of the worker's drain to this file")
    ap.add_argument("--rounds", type=int, default=1,
                    help="measure this many times; the figures are the round of the median worker/bare ratio")
    args = ap.parse_args(argv)
    configure_logging("console", "WARNING")  # figures only; the engine's own log lines would interleave
    rounds = [measure(args.cases, args.replies, args.rpm, args.profile) for _ in range(max(args.rounds, 1))]
    # On a shared machine one round's elapsed times move with the others' load: the median round is the figure.
    ratios = sorted(x["worker_to_bare_http"] for x in rounds)
    r = next(x for x in rounds if x["worker_to_bare_http"] == ratios[len(ratios) // 2])
    if len(rounds) > 1:
        r = {**r, "rounds_worker_to_bare_http": ratios,
             "rounds_worker_cpu_to_bare_http_cpu": sorted(x["worker_cpu_to_bare_http_cpu"] for x in rounds)}
        print("rounds: worker/bare session " + ", ".join(f"{x:.2f}" for x in ratios) + " (CPU: "
              + ", ".join(f"{x:.2f}" for x in r["rounds_worker_cpu_to_bare_http_cpu"]) + ")")
    print(f"outbound: {r['operations']:.0f} console operations -> {r['requests']:.0f} Zendesk requests:"
          f" {r['requests_per_operation']:.3f} per operation (minimum 1.000; ratio {r['ratio_to_minimum']:.3f})")
    print(f"overhead: worker {r['worker_s']:.2f} s vs bare zenpy {r['bare_zenpy_s']:.2f} s for the same workload:"
          f" {r['worker_to_bare']:.2f}x")
    print(f"bookkeeping: the same JSON on a bare requests session {r['bare_http_s']:.2f} s: casesync's own work"
          f" {r['bookkeeping_ms_per_operation']:.2f} ms per operation; worker {r['worker_to_bare_http']:.2f}x the bare"
          f" session (CPU of this process: {r['worker_cpu_s']:.2f} s vs {r['bare_http_cpu_s']:.2f} s,"
          f" {r['worker_cpu_to_bare_http_cpu']:.2f}x)")
    print("requests by route: " + ", ".join(f"{k}={n}" for k, n in sorted(r["by_route"].items())))
    print("RESULT " + json.dumps({"benchmark": "outbound", **r}))


if __name__ == "__main__":
    main()
