"""``casesync demo`` and ``casesync sandbox``: casesync without a Zendesk account.

``demo`` plays the console's whole support process against an in-process sandbox (``sync.demo``);
``sandbox`` serves the stateful Zendesk emulator over HTTP for trying casesync by hand and for tests.
"""

from __future__ import annotations

import argparse

__all__ = ["register", "run_demo_command", "run_sandbox_command"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo`` and ``sandbox`` to the command line."""
    demo = sub.add_parser(
        "demo",
        help="play the whole support process against a built-in Zendesk sandbox (no account needed)",
        description="Run casesync end to end against an in-process Zendesk sandbox and a temporary SQLite "
        "store; print both sides' timeline; exit non-zero if any expectation fails.",
    )
    demo.add_argument("--quiet", "-q", action="store_true", help="print only the outcome")
    demo.add_argument(
        "--web", action="store_true",
        help="instead, serve the console's Support page and an agent view on 127.0.0.1 until Ctrl-C",
    )
    demo.add_argument("--port", type=_port, default=0, help="with --web: the TCP port (default: a free one)")
    demo.set_defaults(handler=run_demo_command)

    sandbox = sub.add_parser(
        "sandbox",
        help="serve the Zendesk sandbox (a stateful emulator of the Support API) until Ctrl-C",
        description="Serve the Zendesk sandbox over HTTP until Ctrl-C or SIGTERM. Agent credentials: "
        "admin@sandbox.test / sandbox.",
    )
    sandbox.add_argument("--port", type=_port, default=8080, help="TCP port (default 8080; 0 picks a free one)")
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sandbox.add_argument(
        "--no-rate-limits", dest="rate_limits", action="store_false", help="switch off the emulated rate limits"
    )
    sandbox.set_defaults(handler=run_sandbox_command)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return int(text)


def run_demo_command(args: argparse.Namespace) -> int:
    """Delegate to :func:`sync.demo.run_demo` (``--web``: :func:`sync.demo_web.run_demo_web`)."""
    if args.web:
        import threading

        from sync.commands._common import install_stop_signals
        from sync.demo_web import run_demo_web
        from sync.logging import configure_logging

        configure_logging("console", "WARNING")  # the URLs are the output; the engine's lines would bury them
        stop = threading.Event()
        install_stop_signals(stop)
        return run_demo_web(port=args.port, stop=stop)
    from sync.demo import run_demo

    return run_demo(verbose=not args.quiet)


def run_sandbox_command(args: argparse.Namespace) -> int:
    """Serve the sandbox until interrupted."""
    from sync.sandbox import run_sandbox

    run_sandbox(port=args.port, host=args.host, rate_limits=args.rate_limits)
    return 0
