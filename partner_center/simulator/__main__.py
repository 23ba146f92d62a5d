"""Command line: ``python -m partner_center.simulator --port 8770 ...`` (see the package doc)."""

import argparse
import logging
import os
import signal
import sys
import tempfile
import threading

from .core import Simulator
from .faults import parse_fault_spec
from .settings import SimulatorSettings


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m partner_center.simulator",
        description="Local Partner Center simulator (API, price sheets, token service).",
    )
    parser.add_argument("--port", type=int, default=8770, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sku-count", type=int, default=300)
    parser.add_argument("--month", type=int, default=0)
    parser.add_argument("--order-complete-delay", type=float, default=3.0)
    parser.add_argument("--fulfilment-delay", type=float, default=600.0)
    parser.add_argument("--order-list-lag", type=float, default=0.0)
    parser.add_argument("--state", help="JSON file keeping orders etc. across restarts")
    parser.add_argument("--cert-dir", help="where ca.pem and the server certificate live")
    parser.add_argument(
        "--cert-host",
        action="append",
        default=[],
        help="extra host name or IP for the certificate (repeatable)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        help="fault rule TARGET:KIND[:PROBABILITY[:COUNT]] (repeatable)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def settings_from_args(args):
    cert_dir = args.cert_dir
    if not cert_dir and not args.state:
        cert_dir = os.path.join(tempfile.gettempdir(), "partner-center-simulator")
    return SimulatorSettings(
        seed=args.seed,
        sku_count=args.sku_count,
        month=args.month,
        order_complete_delay=args.order_complete_delay,
        fulfilment_delay=args.fulfilment_delay,
        order_list_lag=args.order_list_lag,
        port=args.port,
        host=args.host,
        state_file=args.state,
        cert_dir=cert_dir,
        cert_hosts=tuple(args.cert_host),
        faults=[parse_fault_spec(spec) for spec in args.fault],
    )


def describe(sim):
    lines = [
        f"Partner Center simulator listening on {sim.base_url}",
        f"  API base URL:        {sim.api_url}",
        f"  Price-sheet URL:     {sim.pricesheet_url}",
        f"  Authority (msal):    {sim.authority}",
        f"  CA file to trust:    {sim.ca_file}",
        f"  Partner tenant id:   {sim.partner_tenant_id}",
        f"  Client id:           {sim.client_id}",
        f"  Client secret:       {sim.client_secret}",
        f"  Refresh token:       {sim.initial_refresh_token}",
        f"  Catalogue:           seed {sim.settings.seed}, {sim.settings.sku_count} SKUs, "
        f"month {sim.settings.month}",
        "  Customers:",
    ]
    lines += [
        f"    {customer['tenant_id']}  {customer['country']}  {customer['company_name']}"
        for customer in sim.customers
    ]
    for rule in sim.faults.rules():
        lines.append(
            f"  Fault: {rule['method'] or '*'} {rule['path_regex']} -> {rule['kind']}"
            f" (p={rule['probability']}, count={rule['count']})"
        )
    return "\n".join(lines)


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = settings_from_args(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sim = Simulator(settings)
    stopping = threading.Event()

    def request_stop(signum, frame):
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    sim.start()
    print(describe(sim), flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        sim.stop()
        print("Partner Center simulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
