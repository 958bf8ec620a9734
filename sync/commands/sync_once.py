"""``casesync sync [--once]``: the sync without the HTTP server — one pass for cron, or a worker loop.

``--once`` is for a scheduler (cron, a Kubernetes CronJob): it first asks Zendesk who the credentials
belong to (``GET /api/v2/users/me``), so an unreachable Zendesk or wrong credentials end at once with one
line and a non-zero code instead of a pass full of retried failures; then it runs one engine pass.
Overlapping runs are harmless: the store's leases give each case to one worker at a time.  The pass
exits 1 when it met any failure (a delivery failed or was dead-lettered, the poll or an inbox entry
failed), so a CronJob whose every write failed shows as failed; 0 when it met none.

Without ``--once`` it syncs until SIGTERM/SIGINT (a worker without webhooks or HTTP endpoints, e.g. an
extra outbox worker next to ``casesync serve`` on PostgreSQL).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sync.commands import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from sync.settings import Settings

__all__ = ["check_zendesk", "register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sync`` to the command line."""
    parser = sub.add_parser(
        "sync",
        help="run one sync pass (--once, for cron) or sync until stopped, without the HTTP server",
        description="With --once: check Zendesk is reachable and the credentials work, run one pass, exit "
        "0 (1: Zendesk unreachable, or the pass had failures; 2: configuration error or credentials refused). "
        "Without --once: sync until SIGTERM/SIGINT.",
    )
    parser.add_argument("--once", action="store_true", help="one pass, then exit (for cron / CronJobs)")
    parser.set_defaults(handler=run)


def check_zendesk(settings: Settings) -> tuple[int, str]:
    """Ask Zendesk who the credentials are: ``(EXIT_OK, agent email)`` or ``(exit code, one-line reason)``.

    A quick retry policy is used on purpose: a scheduler's next run is the real retry.
    """
    from sync.commands._failures import describe_zendesk_failure
    from sync.errors import CaseSyncError
    from sync.gateway import ZendeskGateway
    from sync.retry import RetryPolicy

    gateway = ZendeskGateway(settings, policy=RetryPolicy(max_attempts=2, max_elapsed_s=10.0, base_s=0.2, cap_s=1.0))
    try:
        me = gateway.me()
    except CaseSyncError as exc:
        described = describe_zendesk_failure(exc, settings)
        if described is None:
            raise
        return described
    return EXIT_OK, getattr(me, "email", None) or "?"


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
    return EXIT_FAILED if report.errors else EXIT_OK
