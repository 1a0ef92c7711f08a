"""``quayside-node run|once|rank`` (docs/node.md)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .config import ConfigError, load


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="quayside-node", description="Quayside smart node")
    p.add_argument(
        "command", choices=["run", "once", "rank"], help="run: loop; once: one cycle; rank: the plan"
    )
    p.add_argument("--config", help="TOML configuration file")
    p.add_argument("--portal", help="the portal's URL")
    p.add_argument("--token", help="node token (better: QUAYSIDE_NODE_TOKEN)")
    p.add_argument("--budget", help="storage budget, e.g. '500 GB'")
    p.add_argument("--data", help="data folder")
    p.add_argument("--name", help="node name shown on the portal")
    p.add_argument("--subjects", help="keywords to favour, comma-separated")
    p.add_argument("--scopes", help="scopes (collections) to favour, comma-separated")
    p.add_argument("--upload-limit", dest="upload_limit", help="bytes/s, e.g. '1 MB'; 0 = none")
    p.add_argument("--download-limit", dest="download_limit", help="bytes/s; 0 = none")
    p.add_argument("--listen", help="listen interfaces, e.g. '0.0.0.0:6881'; empty = outbound only")
    p.add_argument("--poll-seconds", dest="poll_seconds", help="seconds between cycles")
    p.add_argument("--wait", type=float, default=600, help="once: seconds to let downloads finish (600)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    flags = {k: v for k, v in vars(args).items() if k not in ("command", "config", "wait", "verbose")}
    try:
        config = load(args.config, **flags).check()
    except (ConfigError, OSError) as exc:
        print(f"quayside-node: {exc}", file=sys.stderr)
        return 2

    from .node import Node
    from .portal import PortalError
    from .rank import plan_lines

    node = Node(config)
    try:
        if args.command == "rank":
            node.register()
            plan, gone, fetched = node.plan()
            print("\n".join(plan_lines(plan, node.session.handles)))
            if gone:
                print(f"to delete (no longer public): {', '.join(sorted(gone))}")
            print(f"read {fetched:,} bytes of catalog and health")
            node.close()
        elif args.command == "once":
            result = node.cycle(wait=args.wait)
            held = node.session.holdings()
            print(
                f"held {len(held)} torrents ({sum(h.bytes_held for h in held.values()):,} bytes), "
                f"added {len(result.added)}, deleted {len(result.deleted)}"
                + (f"; catalog not read: {result.error}" if result.error else "")
            )
            node.close()
        else:
            stop = threading.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            node.run(stop)
    except PortalError as exc:
        node.close()
        print(f"quayside-node: the portal refused: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
