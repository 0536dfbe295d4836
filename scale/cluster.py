"""Finding Ray and joining (or starting) a Ray cluster, with messages a user can act on."""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
from pathlib import Path
from typing import Any

PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)
INSTALL_HINT = "install it with `pip install -r requirements-scale.txt` (Ray 2.60 with Serve and Data)"


class ClusterError(RuntimeError):
    """Ray is missing or the cluster can't be reached; the message says what to do."""


def add_cluster_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", help="Ray cluster to join (host:port or ray://host:10001); "
                                          "default: start a local Ray")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: all)")


def require_ray() -> None:
    """Fails with an install hint, before anything imports Ray, when Ray is not installed."""
    try:
        found = importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ClusterError(f"Ray is not installed: {INSTALL_HINT}")
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
        import ray.serve  # noqa: F401
    except ImportError as err:
        raise ClusterError(f"Ray could not be imported ({err}): {INSTALL_HINT}") from None


def check_reachable(address: str, timeout_s: float = 3.0) -> None:
    """A quick TCP check of a `host:port` or `ray://host:port` address ([v6::addr]:port too): ray.init()
    retries an unreachable one for 20 s or more. "auto" and "local" are left to Ray."""
    if address.startswith(("http://", "https://")):
        raise ClusterError(f"{address} looks like the dashboard's address (what `serve deploy` takes): "
                           "give the cluster's address instead, HEAD:6379 or ray://HEAD:10001")
    if address in ("auto", "local"):
        return
    target = address.removeprefix("ray://")
    if target != address and not target.rpartition(":")[2].isdigit():
        target += ":10001"  # Ray Client's default port
    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit():
        raise ClusterError(f"{address!r} is not a Ray address: use HEAD:6379 (`ray start --head` "
                           "prints it), ray://HEAD:10001, or auto")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as err:
        raise ClusterError(
            f"cannot reach the Ray cluster at {address} ({err.strerror or err}): check the address "
            "(the head node's `ray start --head` prints it), or leave out --address to run on a "
            "local Ray on this machine") from None


def connect(address: str | None, num_cpus: int | None = None, worker_logs: bool = False) -> Any:
    """Joins the cluster at `address`, or starts a local Ray when it is None (or reuses the one this
    process started); returns the `ray` module. Workers' output is shown here only with worker_logs."""
    require_ray()
    import ray

    if ray.is_initialized():
        return ray
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no phoning home, there is no internet
    if address:
        check_reachable(address)
        options: dict[str, Any] = {"address": address}
    else:
        # A local Ray's workers are new processes started from its environment: let them import
        # this project (scale, serving, rest) whatever the current folder. A cluster's nodes need
        # it installed or on their own PYTHONPATH (see scale/serve_config.yaml).
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [PROJECT_ROOT, os.environ.get("PYTHONPATH")]))
        # "local": a new Ray even when RAY_ADDRESS is set or `ray start` ran on this machine.
        options = {"address": "local", "num_cpus": num_cpus, "include_dashboard": False}
    try:
        ray.init(**options, log_to_driver=worker_logs)
    except Exception as err:  # ConnectionError, AuthenticationError, ValueError, ...
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if not address:
            raise ClusterError(f"could not start a local Ray ({first_line}): see its logs in "
                               "/tmp/ray/session_latest/logs") from None
        auth = "auth" in f"{type(err).__name__} {err}".lower() or isinstance(err, ConnectionError)
        hint = (" If the cluster uses token authentication, set RAY_AUTH_MODE=token here too, with "
                "the cluster's token in RAY_AUTH_TOKEN or ~/.ray/auth_token." if auth else "")
        raise ClusterError(f"cannot connect to the Ray cluster at {address} ({first_line}).{hint}") from None
    return ray
