"""python -m scale.serve: the digit API on Ray Serve, fixed or autoscaled replicas (docs/scale.md)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

from scale.cluster import ClusterError, add_cluster_flags, connect
from serving.card import ModelError, verify_model
from serving.paths import DEFAULT_MODEL

APP_NAME = "digits"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m scale.serve", description=__doc__.splitlines()[0])
    p.add_argument("--replicas", type=int, help="fixed number of replicas (default 1)")
    p.add_argument("--min-replicas", type=int, help="autoscaling: fewest replicas")
    p.add_argument("--max-replicas", type=int, help="autoscaling: most replicas")
    p.add_argument("--target-ongoing-requests", type=float, default=4.0,
                   help="autoscaling: requests in flight per replica to aim for (default 4)")
    p.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to listen on every interface")
    p.add_argument("--port", type=int, default=8000)
    add_cluster_flags(p)
    p.add_argument("--model", help="ONNX model file (default: the shipped fp32 model)")
    p.add_argument("--max-file-size", type=int,
                   help="bytes per image (default 5 MiB, as the demo); 0 for no limit")
    p.add_argument("--max-batch-size", type=int, default=32, help="images per model call")
    p.add_argument("--batch-wait-ms", type=float, default=2.0,
                   help="how long a replica waits to fill a batch")
    args = p.parse_args(argv)
    if args.min_replicas is None and args.max_replicas is None:
        args.replicas = 1 if args.replicas is None else args.replicas
        if args.replicas < 1:
            p.error("--replicas must be at least 1")
    elif args.min_replicas is None or args.max_replicas is None:
        p.error("--min-replicas and --max-replicas go together")
    elif args.replicas is not None:
        p.error("--replicas is a fixed count: leave it out when autoscaling with --min/--max-replicas")
    elif not (0 <= args.min_replicas <= args.max_replicas and args.max_replicas >= 1):
        p.error("need 0 <= --min-replicas <= --max-replicas, and --max-replicas >= 1")
    if args.model:
        args.model = str(Path(args.model).resolve())  # the replicas' working folder is not ours
    return args


def deployment_options(args: argparse.Namespace) -> dict[str, Any]:
    if args.min_replicas is None:
        return {"num_replicas": args.replicas}
    return {"autoscaling_config": {
        "min_replicas": args.min_replicas, "max_replicas": args.max_replicas,
        "initial_replicas": max(args.min_replicas, 1),
        "target_ongoing_requests": args.target_ongoing_requests}}


def app_args(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"max_batch_size": args.max_batch_size, "batch_wait_s": args.batch_wait_ms / 1000}
    if args.max_file_size is not None:
        out["max_file_size"] = args.max_file_size or None
    if args.model:
        out["model"] = args.model
    return out


def start(args: argparse.Namespace) -> str:
    """Deploys the app (Ray must be connected); returns the URL of /api/predict."""
    from ray import serve

    from scale.deployment import DigitService

    serve.start(http_options={"host": args.host, "port": args.port})
    app = DigitService.options(**deployment_options(args)).bind(**app_args(args))
    serve.run(app, name=APP_NAME, route_prefix="/")
    return f"http://{args.host}:{args.port}/api/predict"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        verify_model(Path(args.model) if args.model else DEFAULT_MODEL)  # here, not in every replica
        connect(args.address, num_cpus=args.num_cpus, worker_logs=True)
        url = start(args)
    except (ClusterError, ModelError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    replicas = (f"{args.replicas} replica(s)" if args.min_replicas is None else
                f"{args.min_replicas}–{args.max_replicas} replicas, autoscaling")
    print(f"Serving on {url} ({replicas}); Ctrl-C to stop", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, SystemExit):
        from ray import serve

        serve.delete(APP_NAME)  # only this app: a cluster may serve others
    return 0


if __name__ == "__main__":
    sys.exit(main())
