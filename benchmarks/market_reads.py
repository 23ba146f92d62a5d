"""Reading Partner Center's markets one after the other, or all at once.

Against the Partner Center simulator (5,000 SKUs by default, in a process of its own, price
sheets rendered before the clock starts), it reads what a catalogue sync reads for 5 countries
(US, GB, DE, FR, GR) in USD, EUR and ILS (converted from USD): each market's two product
listings and its price sheet, then builds the snapshot. Once as the sync does
(``partner_center.snapshot.fetch_snapshot``, market after market), once with one thread and one
client per market, listings and sheets read concurrently. It prints wall and CPU time of both,
alternating, and checks that both give the same prices.

    python3 benchmarks/market_reads.py [--skus 5000] [--rounds 3]

No target: it measures whether concurrent reads would shorten a sync. The set-up is the
project's (``scripts/devenv.py``: its virtual environment runs the measurement).
"""

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import devenv  # noqa: E402 - the project's set-up, found through the path above

COUNTRIES = ("US", "GB", "DE", "FR", "GR")
CURRENCIES = ("USD", "EUR", "ILS")
RATES = {"ILS": {"USD": Decimal("3.7")}}


def measure(sku_count, rounds):
    from catalogue_sync import simulator_process

    from partner_center import snapshot

    with simulator_process(sku_count) as simulator:
        token = [simulator["initial_refresh_token"]]
        clients = [_client(simulator, token) for _country in COUNTRIES]
        for client in clients:  # each signed in before the clock starts
            client.products(COUNTRIES[0], snapshot.VIEWS[0])
        print(
            f"Markets {' '.join(COUNTRIES)}, currencies {' '.join(CURRENCIES)}, {sku_count:,} SKUs"
        )
        for _round in range(rounds):
            one_by_one, first = _timed(
                lambda: snapshot.fetch_snapshot(
                    clients[0], countries=COUNTRIES, currencies=CURRENCIES, rates=RATES
                )
            )
            at_once, second = _timed(lambda: _read_at_once(clients))
            same = "same prices" if first.prices == second.prices else "PRICES DIFFER"
            print(f"  one market after another {one_by_one}   all at once {at_once}   {same}")
            if first.prices != second.prices:
                return 1
    return 0


def _client(simulator, token):
    """A client of its own (a requests session is not shared between threads)."""
    import requests

    from partner_center.client import PartnerCenterClient
    from partner_center.config import AUTH_APP_USER, ClientConfig

    config = ClientConfig.for_simulator(
        simulator["base_url"],
        simulator["ca_file"],
        tenant=simulator["partner_tenant_id"],
        client_id=simulator["client_id"],
        client_secret=simulator["client_secret"],
        refresh_token=token[0],
        auth_mode=AUTH_APP_USER,
    )
    session = requests.Session()
    session.trust_env = False
    return PartnerCenterClient(
        config, on_refresh_token=lambda new: token.__setitem__(0, new), session=session
    )


def _read_at_once(clients):
    """What ``fetch_snapshot`` reads, one thread per market (English catalogue)."""
    from partner_center import snapshot

    needed = set(CURRENCIES) | {base for bases in RATES.values() for base in bases}
    seen = set()

    def market(client, country):
        listings = {view: client.products(country, view) for view in snapshot.VIEWS}
        sheet = client.iter_price_sheet(
            country, priced_currencies=needed, seen_currencies=seen, skipped=[]
        )
        return listings, snapshot._market_rows(sheet, country, needed)

    with snapshot.collector_paused(), ThreadPoolExecutor(len(COUNTRIES)) as pool:
        read = list(pool.map(market, clients, COUNTRIES))
        return snapshot.build_snapshot(
            catalogues={
                country: listings
                for country, (listings, _rows) in zip(COUNTRIES, read, strict=True)
            },
            rows=[row for _listings, rows in read for row in rows],
            currencies=CURRENCIES,
            rates=RATES,
            roundings=None,
            previous=None,
            lang=None,
            localized={},
            localized_skus={},
            on_date=None,
            seen_currencies=seen,
        )


def _timed(call):
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return f"{wall:5.2f} s (CPU {cpu:5.2f} s)", result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=5000, help="simulator SKUs (at most 5,000)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if not devenv.in_venv():
        return devenv.run_in_venv(Path(__file__).resolve(), sys.argv[1:] if argv is None else argv)
    sys.path.insert(0, str(ROOT))
    return measure(args.skus, args.rounds)


if __name__ == "__main__":
    sys.exit(main())
