"""``casesync sync [--once]``: the sync without the HTTP server — one pass for cron, or a worker loop.

``--once`` is for a scheduler (cron, a Kubernetes CronJob): it first asks Zendesk who the credentials
belong to (``GET /api/v2/users/me``), so an unreachable Zendesk or wrong credentials end at once with one
line and a non-zero code instead of a pass full of retried failures; then it runs one engine pass.
Overlapping runs are harmless: the store's leases give each case to one worker at a time.

Without ``--once`` it syncs until SIGTERM/SIGINT (a worker without webhooks or HTTP endpoints, e.g. an
extra outbox worker next to ``casesync serve`` on PostgreSQL).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sync.commands import EXIT_CONFIG, EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from sync.settings import Settings

__all__ = ["check_zendesk", "register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sync`` to the command line."""
    parser = sub.add_parser(
        "sync",
        help="run one sync pass (--once, for cron) or sync until stopped, without the HTTP server",
        description="With --once: check Zendesk is reachable and the credentials work, run one pass, exit "
        "0 (1: Zendesk unreachable; 2: configuration error or credentials refused). Without --once: sync "
        "until SIGTERM/SIGINT.",
    )
    parser.add_argument("--once", action="store_true", help="one pass, then exit (for cron / CronJobs)")
    parser.set_defaults(handler=run)


def check_zendesk(settings: Settings) -> tuple[int, str]:
    """Ask Zendesk who the credentials are: ``(EXIT_OK, agent email)`` or ``(exit code, one-line reason)``.

    A quick retry policy is used on purpose: a scheduler's next run is the real retry.
    """
    from sync.errors import AuthenticationFailed, CaseSyncError, NetworkError, ServerUnavailable
    from sync.gateway import ZendeskGateway
    from sync.retry import RetryPolicy

    gateway = ZendeskGateway(settings, policy=RetryPolicy(max_attempts=2, max_elapsed_s=10.0, base_s=0.2, cap_s=1.0))
    url = settings.zendesk_url
    try:
        me = gateway.me()
    except AuthenticationFailed as exc:
        variable = "CASESYNC_ZENDESK_OAUTH_TOKEN" if settings.zendesk_oauth_token else "CASESYNC_ZENDESK_TOKEN"
        status = f" (HTTP {exc.status})" if exc.status else ""
        return EXIT_CONFIG, f"{variable}: Zendesk at {url} refused the credentials{status}"
    except (NetworkError, ServerUnavailable) as exc:
        return EXIT_FAILED, f"Zendesk is unreachable at {url}: {_root_cause(exc)}"
    except CaseSyncError as exc:
        return EXIT_FAILED, f"Zendesk at {url} answered an error: {type(exc).__name__}: {_short(exc)}"
    return EXIT_OK, getattr(me, "email", None) or "?"


def _root_cause(exc: BaseException) -> str:
    """The innermost cause ("[Errno 111] Connection refused"), not the HTTP library's wrapping of it."""
    seen: set[int] = set()
    inner: BaseException = exc
    while id(inner) not in seen:
        seen.add(id(inner))
        nxt = inner.__cause__ or inner.__context__
        if nxt is None:
            break
        inner = nxt
        # urllib3 keeps the socket error in ``reason`` rather than in the exception chain
        reason = getattr(inner, "reason", None)
        if isinstance(reason, BaseException):
            inner = reason
    return _short(inner if inner is not exc else exc)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


def run(args: argparse.Namespace) -> int:
    """One pass (``--once``) or the loop."""
    from sync.commands._common import err, start_sync_process
    from sync.engine import SyncEngine
    from sync.logging import get_logger

    log = get_logger(__name__)
    settings, stop, store = start_sync_process(
        on_stop_signal=None if args.once else lambda name: log.info("sync.stopping", signal=name)
    )
    try:
        if args.once:
            code, detail = check_zendesk(settings)
            if code != EXIT_OK:
                err(f"casesync sync: {detail}")
                log.error("sync_once.zendesk_check_failed", reason=detail)
                return code
        engine = SyncEngine(settings, store=store)
        if not args.once:
            engine.run_forever(stop)
            return EXIT_OK
        report = engine.run_once()
    finally:
        store.close()
    log.info(
        "sync_once.finished",
        delivered=report.delivered,
        inbound_applied=report.inbound_applied,
        pending=report.pending,
        dead_letters=report.dead_letters,
        polled=report.polled,
        errors=len(report.errors),
    )
    print(
        f"delivered {report.delivered}, applied {report.inbound_applied} from Zendesk"
        f"{' (polled)' if report.polled else ''}; {report.pending} pending, {report.dead_letters} dead letter(s)"
        + (f"; {len(report.errors)} error(s) in this pass (see the log)" if report.errors else "")
    )
    for line in report.errors[:5]:
        err(f"  {line}")
    return EXIT_OK
