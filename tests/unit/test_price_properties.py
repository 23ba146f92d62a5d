"""Properties of prices over generated price sheets and currencies (hypothesis).

Whatever Microsoft's figures (more decimals than the currency has, zero-decimal currencies, a
0.05 rounding step), every price the snapshot gives is its currency-rounded Microsoft figure, so
that a sync compares and stores the same value each time.
"""

from datetime import date
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from partner_center.catalogue import (
    billing_periods,
    choose_customer_price,
    round_amount,
    round_to_step,
    rounding_step,
)
from partner_center.snapshot import build_snapshot

from .test_snapshot import SUB, catalogues, row

ON = date(2025, 6, 15)
ROUNDINGS = {"USD": 2, "JPY": 0, "CHF": Decimal("0.05"), "KWD": 3}
PLANS = [("P1Y", "Annual"), ("P3Y", "Annual"), ("P3Y", "Triennial")]

amounts = st.decimals(
    min_value=Decimal("0.0001"),
    max_value=Decimal("99999"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)
markets = st.sampled_from(["US", "DE", "JP", "CH"])
sheet_rows = st.lists(
    st.tuples(
        markets, st.sampled_from(sorted(ROUNDINGS)), st.sampled_from(PLANS), amounts, amounts
    ),
    min_size=1,
    max_size=12,
    unique_by=lambda item: item[:3],
)  # one row per market and plan


def build(rows):
    parsed = [
        row(
            market=market,
            currency=currency,
            term=term,
            billing=billing,
            price=str(cost),
            erp=str(sell),
        )
        for market, currency, (term, billing), cost, sell in rows
    ]
    snapshot = build_snapshot(
        catalogues=catalogues(US=(SUB,), DE=(SUB,), JP=(SUB,), CH=(SUB,)),
        rows=parsed,
        currencies=sorted({r.currency for r in parsed}),
        roundings=ROUNDINGS,
        on_date=ON,
    )
    return parsed, snapshot


def is_multiple(amount, rounding):
    return amount % rounding_step(rounding) == 0


@settings(max_examples=150, deadline=None)
@given(sheet_rows)
def test_every_price_is_its_currency_rounded_microsoft_figure(rows):
    parsed, snapshot = build(rows)
    for (_code, term, billing, currency), price in snapshot.prices.items():
        rounding = ROUNDINGS[currency]
        periods = billing_periods(term, billing)
        candidates = [
            r
            for r in parsed
            if (r.currency, r.term_duration, r.billing_plan) == (currency, term, billing)
        ]
        highest = max(r.unit_price for r in candidates)
        assert price.cost == round_amount(highest / periods, rounding)
        assert is_multiple(price.cost, rounding) and is_multiple(price.sell, rounding)
    for price in snapshot.country_prices:
        assert is_multiple(price.cost, ROUNDINGS[price.currency])
        assert is_multiple(price.sell, ROUNDINGS[price.currency])


@settings(max_examples=100, deadline=None)
@given(sheet_rows)
def test_the_same_sheet_gives_the_same_prices(rows):
    assert build(rows)[1].prices == build(list(rows))[1].prices


@settings(max_examples=150, deadline=None)
@given(amounts, st.sampled_from(sorted(ROUNDINGS)))
def test_rounding_is_idempotent_and_within_half_a_step(amount, currency):
    rounding = ROUNDINGS[currency]
    once = round_amount(amount, rounding)
    assert round_amount(once, rounding) == once
    assert abs(once - amount) <= rounding_step(rounding) / 2


@settings(max_examples=100, deadline=None)
@given(amounts, amounts, st.sampled_from(sorted(ROUNDINGS)))
def test_a_customer_price_in_its_own_currency_comes_rounded(cost, sell, currency):
    _parsed, snapshot = build([("US", currency, PLANS[0], cost, sell)])
    (price,) = snapshot.prices.values()
    by_currency = {
        currency: price.__class__(price.code, "P1Y", "annual", currency, cost=cost, sell=sell)
    }
    chosen = choose_customer_price(
        by_currency, code=SUB, country="US", currency=currency, rounding=ROUNDINGS[currency]
    )
    assert (chosen.cost, chosen.sell) == (price.cost, price.sell)


def test_rounding_examples():
    assert round_amount(Decimal("1.005"), 2) == Decimal("1.01")
    assert round_amount(Decimal("100.4"), 0) == Decimal("100")
    assert round_amount(Decimal("1.07"), Decimal("0.05")) == Decimal("1.05")
    assert round_amount(Decimal("1.075"), Decimal("0.05")) == Decimal("1.10")


def outcome(rounder, *args):
    """What a rounding gives, its exponent included, or the error it raises."""
    try:
        return repr(rounder(*args))
    except ArithmeticError as error:
        return type(error)


STEPS = [0, 2, 3, Decimal("0.01"), Decimal("0.010"), Decimal("1.0"), Decimal("1E+1"), Decimal(2)]


@settings(max_examples=400, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False), st.sampled_from(STEPS))
@example(Decimal("1.00499999999999999999999999999"), 2)  # more digits than the context keeps
@example(Decimal("-0"), Decimal("0.01"))
@example(Decimal("-1.005"), 2)
@example(Decimal("1E+40"), 2)
@example(Decimal("0.05"), Decimal("1.0"))
def test_round_amount_is_its_definition_whatever_the_step(amount, rounding):
    general = outcome(round_to_step, amount, rounding_step(rounding))
    assert outcome(round_amount, amount, rounding) == general
