"""Catalogue endpoints: shapes like Microsoft's samples, countries, locales, monthly changes."""

import json
import time

import pytest

from partner_center.simulator import SimCatalogue
from partner_center.simulator.catalogue import MARKETS, PERPETUAL, SUBSCRIPTION

from .common import samples_dir

COUNTRIES = ("US", "GB", "DE", "FR", "GR", "IL")
# Keys of the samples that are not valid JSON as printed (02_sku_by_id_nce_response.txt,
# 03_availability_by_id_nce_response.txt), read off by hand.
SKU_KEYS = {
    "id",
    "productId",
    "title",
    "description",
    "minimumQuantity",
    "maximumQuantity",
    "isTrial",
    "supportedBillingCycles",
    "purchasePrerequisites",
    "inventoryVariables",
    "provisioningVariables",
    "actions",
    "dynamicAttributes",
    "links",
}
AVAILABILITY_KEYS = {
    "id",
    "productId",
    "skuId",
    "catalogItemId",
    "defaultCurrency",
    "segment",
    "country",
    "isPurchasable",
    "isRenewable",
    "terms",
    "links",
}
COLLECTION_KEYS = {"totalCount", "items", "links", "attributes"}


def sample(name):
    path = samples_dir() / name
    if not path.exists():
        pytest.skip(f"sample {name} not available at {samples_dir()} (set MS_CSP_SHARED)")
    return json.loads(path.read_text(encoding="utf-8"))


def get(sim, sim_http, headers, path, **params):
    extra = params.pop("locale", None)
    request_headers = dict(headers, **({"X-Locale": extra} if extra else {}))
    return sim_http.get(f"{sim.api_url}{path}", params=params, headers=request_headers, timeout=10)


def test_product_list_is_a_collection_of_sample_shaped_products(sim, sim_http, api_headers):
    answer = get(sim, sim_http, api_headers, "/products", country="US", targetView="Software")
    body = answer.json()
    assert answer.status_code == 200
    assert set(body) == COLLECTION_KEYS
    assert body["attributes"] == {"objectType": "Collection"}
    assert body["totalCount"] == len(body["items"]) > 0
    expected_keys = set(sample("02_product_by_id_nce_response.json"))
    assert all(set(item) == expected_keys for item in body["items"])
    assert all(
        len(item["id"]) == 12 and item["id"].startswith("DG7GMGF0") for item in body["items"]
    )


@pytest.mark.parametrize(
    ("view", "kinds"),
    [
        ("SoftwareSubscriptions", {SUBSCRIPTION}),
        ("SoftwarePerpetual", {PERPETUAL}),
        ("Software", {SUBSCRIPTION, PERPETUAL}),
    ],
)
def test_target_view_selects_the_product_kind(sim, sim_http, api_headers, view, kinds):
    body = get(sim, sim_http, api_headers, "/products", country="DE", targetView=view).json()
    listed = {sim.catalogue.product(item["id"]).kind for item in body["items"]}
    assert listed == kinds
    assert len(body["items"]) == len(sim.catalogue.products("DE", view))


def test_sku_and_availability_shapes(sim, sim_http, api_headers):
    sku = sim.catalogue.skus_for("US", "SoftwareSubscriptions")[0]
    skus = get(sim, sim_http, api_headers, f"/products/{sku.product_id}/skus", country="US")
    assert set(skus.json()) == COLLECTION_KEYS
    assert all(set(item) == SKU_KEYS for item in skus.json()["items"])
    one = get(
        sim, sim_http, api_headers, f"/products/{sku.product_id}/skus/{sku.id}", country="US"
    ).json()
    assert set(one) == SKU_KEYS and len(one["id"]) == 4
    assert one["supportedBillingCycles"] == sku.billing_cycles
    availabilities = get(
        sim,
        sim_http,
        api_headers,
        f"/products/{sku.product_id}/skus/{sku.id}/availabilities",
        country="US",
    ).json()
    availability = availabilities["items"][0]
    assert set(availability) == AVAILABILITY_KEYS
    assert availability["catalogItemId"] == f"{sku.product_id}:{sku.id}:{availability['id']}"
    assert availability["defaultCurrency"] == {"code": "USD", "symbol": "$"}
    assert {term["duration"] for term in availability["terms"]} == {
        term for term, _billing in sku.terms
    }
    by_id = get(
        sim,
        sim_http,
        api_headers,
        f"/products/{sku.product_id}/skus/{sku.id}/availabilities/{availability['id']}",
        country="US",
    ).json()
    assert by_id["catalogItemId"] == availability["catalogItemId"]
    assert by_id["product"]["id"] == sku.product_id and by_id["sku"]["id"] == sku.id


def test_perpetual_availability_has_no_terms(sim, sim_http, api_headers):
    sku = sim.catalogue.skus_for("US", "SoftwarePerpetual")[0]
    one = get(
        sim, sim_http, api_headers, f"/products/{sku.product_id}/skus/{sku.id}", country="US"
    ).json()
    availability = get(
        sim,
        sim_http,
        api_headers,
        f"/products/{sku.product_id}/skus/{sku.id}/availabilities",
        country="US",
    ).json()["items"][0]
    assert one["supportedBillingCycles"] == ["one_time"]
    assert availability["terms"] == []


def test_sku_not_sold_in_a_country_is_not_listed_there(sim, sim_http, api_headers):
    sku = next(sku for sku in sim.catalogue.all_skus() if set(COUNTRIES) - sku.countries)
    missing = sorted(set(COUNTRIES) - sku.countries)[0]
    answer = get(
        sim, sim_http, api_headers, f"/products/{sku.product_id}/skus/{sku.id}", country=missing
    )
    assert answer.status_code == 404
    assert set(answer.json()) == {"code", "description", "data", "source"}
    listed = get(
        sim, sim_http, api_headers, "/products", country=missing, targetView="Software"
    ).json()["items"]
    codes = {f"{item['id']}" for item in listed}
    if all(missing not in other.countries for other in sku.product.skus):
        assert sku.product_id not in codes


def test_localized_titles_follow_x_locale(sim, sim_http, api_headers):
    sku = next(sku for sku in sim.catalogue.skus_for("DE") if sku.product.localized)
    path = f"/products/{sku.product_id}/skus/{sku.id}"
    english = get(sim, sim_http, api_headers, path, country="DE").json()
    german = get(sim, sim_http, api_headers, path, country="DE", locale="de-DE").json()
    hebrew = get(sim, sim_http, api_headers, path, country="DE", locale="he-IL").json()
    assert english["title"] == sku.title
    assert german["title"] == sku.localized_text("de-DE")[0] != english["title"]
    assert hebrew["title"] == sku.localized_text("he-IL")[0]
    product = get(
        sim, sim_http, api_headers, f"/products/{sku.product_id}", country="DE", locale="fr-FR"
    ).json()
    assert product["title"] == sku.product.localized_text("fr-FR")[0]


def test_unlocalized_product_falls_back_to_english(sim, sim_http, api_headers):
    sku = next(sku for sku in sim.catalogue.skus_for("GR") if not sku.product.localized)
    answer = get(
        sim,
        sim_http,
        api_headers,
        f"/products/{sku.product_id}/skus/{sku.id}",
        country="GR",
        locale="el-GR",
    ).json()
    assert answer["title"] == sku.title


def test_unknown_country_is_a_bad_request(sim, sim_http, api_headers):
    answer = get(sim, sim_http, api_headers, "/products", country="XX", targetView="Software")
    assert answer.status_code == 400


def test_prices_differ_between_countries():
    catalogue = SimCatalogue(seed=1, sku_count=60)
    differing = [
        sku
        for sku in catalogue.all_skus()
        if len(
            {
                catalogue.price(sku.product_id, sku.id, *sku.terms[0], country, "EUR")
                for country in ("DE", "FR", "GR")
            }
            - {None}
        )
        > 1
    ]
    assert differing


def test_catalogue_is_deterministic_per_seed():
    first, again, other = (SimCatalogue(seed=seed, sku_count=80) for seed in (7, 7, 8))
    codes = [sku.code for sku in first.all_skus()]
    assert codes == [sku.code for sku in again.all_skus()]
    assert codes != [sku.code for sku in other.all_skus()]
    assert first.changes(3) == again.changes(3)
    assert len(codes) == 80 == len(set(codes))


def test_five_thousand_skus_generate_fast():
    started = time.perf_counter()
    catalogue = SimCatalogue(seed=3, sku_count=5000)
    for country in COUNTRIES:
        assert catalogue.products(country, "Software")
        assert catalogue.skus_for(country)
    catalogue.month = 2
    catalogue.skus_for("US")
    assert len(catalogue.all_skus(0)) == 5000
    assert time.perf_counter() - started < 3


def test_month_change_retires_adds_and_reprices():
    catalogue = SimCatalogue(seed=1, sku_count=60)
    for month in (1, 2, 3):
        changes = catalogue.changes(month)
        assert changes["retired"] and changes["added"] and changes["repriced"]
        for code in changes["retired"]:
            sku = catalogue.sku(*code.split(":"))
            assert sku.purchasable(month - 1) and not sku.purchasable(month)
        for code in changes["added"]:
            sku = catalogue.sku(*code.split(":"))
            assert not sku.present(month - 1) and sku.purchasable(month)
    modes = {
        mode for month in (1, 2) for mode in catalogue.changes(month)["retired_modes"].values()
    }
    assert modes == {"gone", "not_purchasable"}


def test_repriced_sku_gets_a_new_price():
    catalogue = SimCatalogue(seed=1, sku_count=60)
    code = catalogue.changes(1)["repriced"][0]
    sku = catalogue.sku(*code.split(":"))
    market = sorted(sku.countries)[0]
    term, billing = sku.terms[0]
    before = catalogue.price(sku.product_id, sku.id, term, billing, market, month=0)
    after = catalogue.price(sku.product_id, sku.id, term, billing, market, month=1)
    assert before != after


def test_month_setting_changes_what_the_api_lists(sim, sim_http, api_headers):
    sim.update_settings(month=2)
    changes = sim.catalogue.changes(1)
    for code, mode in {
        **changes["retired_modes"],
        **sim.catalogue.changes(2)["retired_modes"],
    }.items():
        sku = sim.catalogue.sku(*code.split(":"))
        country = sorted(sku.countries)[0]
        path = f"/products/{sku.product_id}/skus/{sku.id}"
        answer = get(sim, sim_http, api_headers, path, country=country)
        if mode == "gone":
            assert answer.status_code == 404
        else:
            availability = get(
                sim, sim_http, api_headers, path + "/availabilities", country=country
            ).json()["items"][0]
            assert availability["isPurchasable"] is False
    added = sim.catalogue.sku(*sim.catalogue.changes(2)["added"][0].split(":"))
    country = sorted(added.countries)[0]
    answer = get(
        sim, sim_http, api_headers, f"/products/{added.product_id}/skus/{added.id}", country=country
    )
    assert answer.status_code == 200


def test_availability_ids_change_with_the_month(sim, sim_http, api_headers):
    sku = next(sku for sku in sim.catalogue.skus_for("US") if sku.purchasable(3))
    path = f"/products/{sku.product_id}/skus/{sku.id}/availabilities"
    before = get(sim, sim_http, api_headers, path, country="US").json()["items"][0]["id"]
    sim.update_settings(month=3)
    after = get(sim, sim_http, api_headers, path, country="US").json()["items"][0]["id"]
    assert before != after
    assert after == sim.catalogue.availability_id(sku.product_id, sku.id)


def test_every_market_has_its_default_currency(sim, sim_http, api_headers):
    for country in COUNTRIES:
        sku = sim.catalogue.skus_for(country)[0]
        availability = get(
            sim,
            sim_http,
            api_headers,
            f"/products/{sku.product_id}/skus/{sku.id}/availabilities",
            country=country,
        ).json()["items"][0]
        assert availability["defaultCurrency"]["code"] == MARKETS[country][0]
