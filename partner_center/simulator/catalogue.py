"""Deterministic software catalogue: products, SKUs, availabilities, prices and monthly changes.

Everything derives from ``random.Random`` instances seeded from ``(seed, purpose)``; no global
random state. Month 0 is the catalogue as first seen; every later month applies a deterministic
set of changes on top of the previous one (SKUs retired, SKUs added, prices changed), and every
month gets fresh availability ids, as the real catalogue does. Tests ask this module what to
expect (``skus_for``, ``price``, ``changes``) instead of hard-coding codes.
"""

import random
import threading
from dataclasses import dataclass, field
from decimal import Decimal

from .utils import base36, catalogue_code, money

SUBSCRIPTION = "subscription"
PERPETUAL = "perpetual"
VIEW_KINDS = {
    "software": (SUBSCRIPTION, PERPETUAL),
    "softwaresubscriptions": (SUBSCRIPTION,),
    "softwareperpetual": (PERPETUAL,),
}
RETIRED_GONE = "gone"
RETIRED_NOT_PURCHASABLE = "not_purchasable"
COMMERCIAL = "Commercial"
EDUCATION = "Education"

EUROPEAN_CURRENCIES = ("EUR", "GBP", "CHF", "SEK", "NOK", "DKK")
# market -> (default currency, currencies of its price sheet)
MARKETS = {
    "US": ("USD", ("USD",)),
    "GB": ("GBP", ("GBP", "EUR")),
    "DE": ("EUR", EUROPEAN_CURRENCIES),
    "FR": ("EUR", EUROPEAN_CURRENCIES),
    "GR": ("EUR", EUROPEAN_CURRENCIES),
    "IL": ("ILS", ("ILS",)),
    "IT": ("EUR", EUROPEAN_CURRENCIES),
    "ES": ("EUR", EUROPEAN_CURRENCIES),
    "NL": ("EUR", EUROPEAN_CURRENCIES),
    "CH": ("CHF", ("CHF", "EUR")),
}
CURRENCY_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "CHF": "CHF",
    "SEK": "kr",
    "NOK": "kr",
    "DKK": "kr.",
    "ILS": "₪",
}
# Fixed conversion from the simulator's internal USD list price.
USD_RATES = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "CHF": Decimal("0.88"),
    "SEK": Decimal("10.6"),
    "NOK": Decimal("10.8"),
    "DKK": Decimal("6.86"),
    "ILS": Decimal("3.71"),
}
LOCALES = ("de-DE", "fr-FR", "el-GR", "he-IL")

# Term multipliers on the one-year price; ``UnitPrice`` is for the whole term.
TERM_MULTIPLIERS = {
    ("P1Y", "annual"): Decimal("1"),
    ("P3Y", "annual"): Decimal("3"),
    ("P3Y", "triennial"): Decimal("2.94"),
    (None, "one_time"): Decimal("1"),
}

_CAL = (
    "1 User CAL",
    "1 Device CAL",
    "1 User CAL - Step-up",
    "1 Device CAL - Step-up",
    "External Connector",
    "1 User CAL - Charity",
)
_CORE = (
    "2 Core License Pack",
    "8 Core License Pack",
    "16 Core License Pack",
    "2 Core License Pack - Step-up",
    "16 Core License Pack - Charity",
    "Management License",
)
_SERVER = (
    "1 Server",
    "1 Server - Step-up",
    "External Connector",
    "1 User CAL",
    "1 Device CAL",
    "1 Server - Charity",
)
_DESKTOP = (
    "1 License",
    "1 License - Step-up",
    "1 License - Charity",
    "1 License - Academic",
    "1 User",
    "1 Device",
)
_SUBSCRIPTION_FAMILIES = (
    ("Windows Server {year} Standard", _CORE),
    ("Windows Server {year} Datacenter", _CORE),
    ("Windows Server {year} Remote Desktop Services", _CAL),
    ("Windows Server {year}", _CAL),
    ("SQL Server {year} Standard", _CORE),
    ("SQL Server {year} Enterprise", _CORE),
    ("SQL Server {year}", _CAL),
    ("Exchange Server {year} Standard", _SERVER),
    ("SharePoint Server {year}", _SERVER),
    ("System Center {year} Standard", _CORE),
    ("System Center {year} Datacenter", _CORE),
    ("Windows Server {year} Rights Management Services", _CAL),
)
_PERPETUAL_FAMILIES = (
    ("Office LTSC Professional Plus {year}", _DESKTOP),
    ("Office LTSC Standard {year}", _DESKTOP),
    ("Project Professional {year}", _DESKTOP),
    ("Project Standard {year}", _DESKTOP),
    ("Visio LTSC Professional {year}", _DESKTOP),
    ("Visio LTSC Standard {year}", _DESKTOP),
    ("Exchange Server {year} Enterprise", _SERVER),
    ("BizTalk Server {year} Branch", _CORE),
    ("Microsoft Identity Manager {year}", _CAL),
    ("Windows Server {year} Essentials", _SERVER),
    ("SQL Server {year} Standard", _CORE),
    ("Skype for Business Server {year}", _SERVER),
)
_YEARS = ("2016", "2019", "2021", "2022", "2024", "2025")
_QUALIFIERS = (
    "",
    "Government",
    "Upgrade",
    "Hybrid",
    "Select Plus",
    "Open Value",
    "Software Assurance",
    "Branch Office",
)
# variant (before any " - " suffix) -> (low, high) USD price of one year or of the licence
_VARIANT_PRICES = {
    "1 User CAL": (18, 160),
    "1 Device CAL": (15, 140),
    "1 User": (40, 300),
    "1 Device": (35, 280),
    "2 Core License Pack": (120, 3200),
    "8 Core License Pack": (600, 7000),
    "16 Core License Pack": (900, 12000),
    "1 Server": (300, 6000),
    "1 License": (90, 900),
    "External Connector": (1500, 9000),
    "Management License": (60, 600),
}
_VARIANT_SUFFIX_FACTORS = {
    "Step-up": Decimal("0.45"),
    "Charity": Decimal("0.3"),
    "Academic": Decimal("0.35"),
}
_PERPETUAL_PRICE_FACTOR = Decimal("2.6")
_MARKET_FACTORS = (0, 0, 0, 0.03, 0.05, 0.08, 0.1, 0.15)
_REPRICE_FACTORS = ("0.9", "0.95", "1.04", "1.05", "1.08", "1.1", "1.15")

_TRANSLATIONS = {
    "de-DE": {
        "licence": "Lizenz",
        "1 User CAL": "1 Benutzer-CAL",
        "1 Device CAL": "1 Geräte-CAL",
        "2 Core License Pack": "2-Core-Lizenzpaket",
        "8 Core License Pack": "8-Core-Lizenzpaket",
        "16 Core License Pack": "16-Core-Lizenzpaket",
        "1 Server": "1 Server",
        "1 License": "1 Lizenz",
        "External Connector": "Externer Connector",
        "Management License": "Verwaltungslizenz",
        "1 User": "1 Benutzer",
        "1 Device": "1 Gerät",
        "Step-up": "Step-up",
        "Charity": "Gemeinnützig",
        "Academic": "Bildungseinrichtungen",
        "description": "{variant} für {title}. Erhältlich über das Cloud Solution "
        "Provider-Programm.",
    },
    "fr-FR": {
        "licence": "Licence",
        "1 User CAL": "1 CAL utilisateur",
        "1 Device CAL": "1 CAL appareil",
        "2 Core License Pack": "Pack de licences 2 cœurs",
        "8 Core License Pack": "Pack de licences 8 cœurs",
        "16 Core License Pack": "Pack de licences 16 cœurs",
        "1 Server": "1 serveur",
        "1 License": "1 licence",
        "External Connector": "Connecteur externe",
        "Management License": "Licence de gestion",
        "1 User": "1 utilisateur",
        "1 Device": "1 appareil",
        "Step-up": "Mise à niveau",
        "Charity": "Associations",
        "Academic": "Éducation",
        "description": "{variant} pour {title}. Disponible via le programme Fournisseur de "
        "solutions cloud.",
    },
    "el-GR": {
        "licence": "Άδεια",
        "1 User CAL": "1 CAL χρήστη",
        "1 Device CAL": "1 CAL συσκευής",
        "2 Core License Pack": "Πακέτο αδειών 2 πυρήνων",
        "8 Core License Pack": "Πακέτο αδειών 8 πυρήνων",
        "16 Core License Pack": "Πακέτο αδειών 16 πυρήνων",
        "1 Server": "1 διακομιστής",
        "1 License": "1 άδεια",
        "External Connector": "Εξωτερική σύνδεση",
        "Management License": "Άδεια διαχείρισης",
        "1 User": "1 χρήστης",
        "1 Device": "1 συσκευή",
        "Step-up": "Αναβάθμιση",
        "Charity": "Φιλανθρωπικοί οργανισμοί",
        "Academic": "Εκπαίδευση",
        "description": "{variant} για {title}. Διατίθεται μέσω του προγράμματος Cloud Solution "
        "Provider.",
    },
    "he-IL": {
        "licence": "רישיון",
        "1 User CAL": "CAL למשתמש אחד",
        "1 Device CAL": "CAL להתקן אחד",
        "2 Core License Pack": "חבילת רישיונות 2 ליבות",
        "8 Core License Pack": "חבילת רישיונות 8 ליבות",
        "16 Core License Pack": "חבילת רישיונות 16 ליבות",
        "1 Server": "שרת אחד",
        "1 License": "רישיון אחד",
        "External Connector": "מחבר חיצוני",
        "Management License": "רישיון ניהול",
        "1 User": "משתמש אחד",
        "1 Device": "התקן אחד",
        "Step-up": "שדרוג",
        "Charity": "עמותות",
        "Academic": "אקדמי",
        "description": "{variant} עבור {title}. זמין דרך תוכנית Cloud Solution Provider.",
    },
}


@dataclass(eq=False)
class SimProduct:
    id: str
    title: str
    kind: str
    variants: tuple
    localized: bool
    skus: list = field(default_factory=list)

    @property
    def description(self):
        noun = "subscription" if self.kind == SUBSCRIPTION else "perpetual licence"
        return (
            f"{self.title}, sold as a software {noun} through the Cloud Solution Provider "
            "program."
        )

    def localized_text(self, locale):
        """(title, description) in ``locale``, or None when the catalogue has no translation."""
        words = self._translation(locale)
        if not words:
            return None
        title = f"{self.title} – {words['licence']}"
        return title, words["description"].format(variant=words["licence"], title=self.title)

    def _translation(self, locale):
        if not (self.localized and locale):
            return None
        for known in LOCALES:
            if locale.lower() in (known.lower(), known[:2].lower()):
                return _TRANSLATIONS[known]
        return None


@dataclass(eq=False)
class SimSku:
    product: SimProduct
    id: str
    variant: str
    countries: frozenset
    market_factors: dict
    base_usd: Decimal
    terms: tuple
    maximum_quantity: int
    introduced: int = 0
    retired: int | None = None
    retire_mode: str | None = None
    reprices: list = field(default_factory=list)
    education: bool = False

    @property
    def product_id(self):
        return self.product.id

    @property
    def kind(self):
        return self.product.kind

    @property
    def code(self):
        """The project's stable SKU code ``ProductId:SkuId``."""
        return f"{self.product.id}:{self.id}"

    @property
    def title(self):
        return f"{self.product.title} - {self.variant}"

    @property
    def description(self):
        return (
            f"{self.variant} for {self.product.title}. Sold through the Cloud Solution "
            "Provider program."
        )

    @property
    def billing_cycles(self):
        return sorted({billing for _term, billing in self.terms})

    def localized_text(self, locale):
        words = self.product._translation(locale)
        if not words:
            return None
        product_title = self.product.localized_text(locale)[0]
        variant = " - ".join(words.get(part, part) for part in self.variant.split(" - "))
        title = f"{product_title} - {variant}"
        return title, words["description"].format(variant=variant, title=product_title)

    def present(self, month):
        """Listed by the catalogue in ``month`` (possibly not purchasable)."""
        if self.introduced > month:
            return False
        return not (
            self.retired is not None and self.retired <= month and self.retire_mode == RETIRED_GONE
        )

    def purchasable(self, month):
        return self.introduced <= month and not (self.retired is not None and self.retired <= month)

    def price_factor(self, month):
        factor = Decimal("1")
        for event_month, change in self.reprices:
            if event_month <= month:
                factor *= change
        return factor

    def has_term(self, term, billing):
        return (term or None, billing) in self.terms


class SimCatalogue:
    """The catalogue of one seed; ``month`` is the simulator's current month (live setting)."""

    def __init__(self, seed=1, sku_count=300, month=0):
        self.seed = seed
        self.sku_count = sku_count
        self.month = month
        self._lock = threading.RLock()
        self._products = {}
        self._skus = []
        self._sku_index = {}
        self._changes = {}
        self._months_applied = 0
        self._titles = self._title_pool()
        self._title_counts = {SUBSCRIPTION: 0, PERPETUAL: 0}
        self._generate_base()

    # === QUERIES (what tests and the HTTP layer ask) === #

    def products(self, country, view="Software", month=None):
        kinds = VIEW_KINDS.get((view or "software").lower(), ())
        month = self._month(month)
        seen = []
        for product in self._products.values():
            if product.kind in kinds and any(
                sku.present(month) and country in sku.countries for sku in product.skus
            ):
                seen.append(product)
        return seen

    def product(self, product_id):
        return self._products.get(product_id)

    def sku(self, product_id, sku_id):
        return self._sku_index.get((product_id, sku_id))

    def skus_for(self, country, view="Software", month=None, purchasable_only=False):
        """SKUs listed for ``country`` in ``month`` (default: current month)."""
        kinds = VIEW_KINDS.get((view or "software").lower(), ())
        month = self._month(month)
        return [
            sku
            for sku in self._skus
            if sku.kind in kinds
            and country in sku.countries
            and sku.present(month)
            and (sku.purchasable(month) or not purchasable_only)
        ]

    def all_skus(self, month=None):
        month = self._month(month)
        return [sku for sku in self._skus if sku.introduced <= month]

    def availability_id(self, product_id, sku_id, month=None):
        """Availability ids are new every month: a cached one goes stale (code 400019)."""
        month = self._month(month)
        return "DG7GMGF0" + catalogue_code(self.seed, "availability", product_id, sku_id, month)

    def catalog_item_id(self, product_id, sku_id, month=None):
        return f"{product_id}:{sku_id}:{self.availability_id(product_id, sku_id, month)}"

    def price(
        self,
        product_id,
        sku_id,
        term,
        billing,
        market,
        currency=None,
        month=None,
        segment=COMMERCIAL,
    ):
        """Partner unit price for the whole term, or None where the SKU has no such price."""
        sku = self.sku(product_id, sku_id)
        month = self._month(month)
        term = None if term in (None, "", "OneTime") else term
        billing = (billing or "").lower()
        currency = currency or MARKETS.get(market, (None,))[0]
        if (
            sku is None
            or market not in sku.countries
            or not sku.has_term(term, billing)
            or currency not in MARKETS[market][1]
            or not sku.present(month)
        ):
            return None
        if segment == EDUCATION and not sku.education:
            return None
        return self._price_at(sku, term, billing, market, currency, month, segment)

    def highest_price(self, product_id, sku_id, term, billing, currency, countries, month=None):
        prices = [
            self.price(product_id, sku_id, term, billing, country, currency, month)
            for country in countries
        ]
        prices = [price for price in prices if price is not None]
        return max(prices) if prices else None

    def changes(self, month):
        """Codes (``ProductId:SkuId``) retired, added and repriced by ``month``'s update."""
        with self._lock:
            self._apply_months(month)
            found = self._changes.get(month)
        empty = {"retired": [], "added": [], "repriced": [], "retired_modes": {}}
        return {
            key: (dict(value) if isinstance(value, dict) else list(value))
            for key, value in (found or empty).items()
        }

    # === PRICE HELPERS === #

    def _price_at(self, sku, term, billing, market, currency, month, segment=COMMERCIAL):
        value = (
            sku.base_usd
            * sku.price_factor(month)
            * TERM_MULTIPLIERS[(term, billing)]
            * sku.market_factors[market]
            * USD_RATES[currency]
        )
        if segment == EDUCATION:
            value *= Decimal("0.6")
        return money(value)

    def _month(self, month):
        month = self.month if month is None else month
        with self._lock:
            self._apply_months(month)
        return month

    # === GENERATION === #

    def _title_pool(self):
        rng = random.Random(f"pc-sim:{self.seed}:titles")
        pools = {}
        for kind, families in (
            (SUBSCRIPTION, _SUBSCRIPTION_FAMILIES),
            (PERPETUAL, _PERPETUAL_FAMILIES),
        ):
            titles = [
                (" ".join(part for part in (family.format(year=year), qualifier) if part), variants)
                for family, variants in families
                for year in _YEARS
                for qualifier in _QUALIFIERS
            ]
            rng.shuffle(titles)
            pools[kind] = titles
        return pools

    def _next_title(self, kind):
        pool = self._titles[kind]
        used = self._title_counts[kind]
        self._title_counts[kind] += 1
        title, variants = pool[used % len(pool)]
        if used >= len(pool):
            title = f"{title} (Edition {used // len(pool) + 1})"
        return title, variants

    def _generate_base(self):
        rng = random.Random(f"pc-sim:{self.seed}:base")
        while len(self._skus) < self.sku_count:
            kind = SUBSCRIPTION if rng.random() < 0.6 else PERPETUAL
            product = self._new_product(rng, kind)
            for _ in range(min(rng.randint(1, 5), self.sku_count - len(self._skus))):
                self._new_sku(rng, product, introduced=0)
        # A tenth of the SKUs got a new price when month 0 began, so the sheet carries a
        # superseded row and the effective-date rule matters from the first sync.
        changed = [sku for sku in self._skus if rng.random() < 0.1]
        for sku in changed:
            sku.reprices.append((0, Decimal(rng.choice(_REPRICE_FACTORS))))
        self._changes[0] = {
            "retired": [],
            "added": [],
            "retired_modes": {},
            "repriced": [sku.code for sku in changed],
        }

    def _new_product(self, rng, kind):
        while True:
            product_id = "DG7GMGF0" + "".join(
                rng.choice("0123456789BCDFGHJKLMNPQRSTVWXZ") for _ in range(4)
            )
            if product_id not in self._products:
                break
        title, variants = self._next_title(kind)
        product = SimProduct(
            id=product_id, title=title, kind=kind, variants=variants, localized=rng.random() < 0.25
        )
        self._products[product_id] = product
        return product

    def _new_sku(self, rng, product, introduced):
        used = {sku.variant for sku in product.skus}
        fresh = [name for name in product.variants if name not in used]
        variant = rng.choice(fresh) if fresh else f"{rng.choice(product.variants)} - {len(used)}"
        name, _, suffix = variant.partition(" - ")
        low, high = _VARIANT_PRICES[name]
        base = Decimal(str(round(rng.uniform(low, high), 2)))
        base *= _VARIANT_SUFFIX_FACTORS.get(suffix, Decimal("1"))
        if product.kind == PERPETUAL:
            terms = ((None, "one_time"),)
            base *= _PERPETUAL_PRICE_FACTOR
        elif rng.random() < 0.6:
            terms = (("P1Y", "annual"), ("P3Y", "annual"), ("P3Y", "triennial"))
        else:
            terms = (("P1Y", "annual"),)
        countries = set(MARKETS)
        if rng.random() < 0.18:
            for country in rng.sample(sorted(countries), rng.randint(1, 3)):
                countries.discard(country)
        factors = {
            country: Decimal("1") + Decimal(str(rng.choice(_MARKET_FACTORS)))
            for country in sorted(MARKETS)
        }
        sku = SimSku(
            product=product,
            id=base36(len(product.skus) + 1),
            variant=variant,
            countries=frozenset(countries),
            market_factors=factors,
            base_usd=base,
            terms=terms,
            maximum_quantity=rng.choice((50, 500, 1000, 10000)),
            introduced=introduced,
            education=product.kind == PERPETUAL and rng.random() < 0.25,
        )
        product.skus.append(sku)
        self._skus.append(sku)
        self._sku_index[(product.id, sku.id)] = sku
        return sku

    def _apply_months(self, month):
        while self._months_applied < month:
            self._months_applied += 1
            self._apply_month(self._months_applied)

    def _apply_month(self, month):
        rng = random.Random(f"pc-sim:{self.seed}:month:{month}")
        alive = [sku for sku in self._skus if sku.purchasable(month - 1)]
        retired = rng.sample(alive, min(len(alive) - 1, max(1, len(alive) // 150)))
        modes = {}
        for index, sku in enumerate(retired):
            sku.retired = month
            sku.retire_mode = (RETIRED_GONE, RETIRED_NOT_PURCHASABLE)[(month + index) % 2]
            modes[sku.code] = sku.retire_mode
        remaining = [sku for sku in alive if sku.retired is None]
        repriced = rng.sample(remaining, min(len(remaining), max(2, len(alive) // 20)))
        for sku in repriced:
            sku.reprices.append((month, Decimal(rng.choice(_REPRICE_FACTORS))))
        added = []
        for _ in range(max(1, len(alive) // 150)):
            parents = [
                sku.product
                for sku in remaining
                if len(sku.product.skus) < len(sku.product.variants)
            ]
            if parents and rng.random() < 0.5:
                product = rng.choice(parents)
            else:
                product = self._new_product(rng, rng.choice((SUBSCRIPTION, PERPETUAL)))
            added.append(self._new_sku(rng, product, introduced=month).code)
        self._changes[month] = {
            "retired": [sku.code for sku in retired],
            "added": added,
            "repriced": [sku.code for sku in repriced],
            "retired_modes": modes,
        }


# === JSON VIEWS (shapes of the 01_/02_/03_ samples) === #


def product_json(product, country, locale=None):
    text = product.localized_text(locale) or (product.title, product.description)
    return {
        "id": product.id,
        "title": text[0],
        "description": text[1],
        "productType": {"id": "Software", "displayName": "Software"},
        "isMicrosoftProduct": True,
        "publisherName": "Microsoft",
        "links": {
            "skus": _link(f"/products/{product.id}/skus?country={country}"),
            "self": _link(f"/products/{product.id}?country={country}"),
        },
    }


def sku_json(sku, country, locale=None):
    text = sku.localized_text(locale) or (sku.title, sku.description)
    base = f"/products/{sku.product_id}/skus/{sku.id}"
    return {
        "id": sku.id,
        "productId": sku.product_id,
        "title": text[0],
        "description": text[1],
        "minimumQuantity": 1,
        "maximumQuantity": sku.maximum_quantity,
        "isTrial": False,
        "supportedBillingCycles": sku.billing_cycles,
        "purchasePrerequisites": [],
        "inventoryVariables": [],
        "provisioningVariables": [],
        "actions": [],
        "dynamicAttributes": {
            "isMicrosoftProduct": True,
            "hasConstraints": False,
            "isAddon": False,
            "prerequisiteSkus": [],
            "isSoftwareAssuranceApplicable": False,
        },
        "links": {
            "availabilities": _link(f"{base}/availabilities?country={country}"),
            "self": _link(f"{base}?country={country}"),
        },
    }


_TERM_DESCRIPTIONS = {
    ("P1Y", "annual"): "One-Year commitment for yearly billing",
    ("P3Y", "annual"): "Three-Year commitment for yearly billing",
    ("P3Y", "triennial"): "Three-Year commitment for upfront billing",
}


def availability_json(catalogue, sku, country, month=None):
    month = catalogue.month if month is None else month
    availability_id = catalogue.availability_id(sku.product_id, sku.id, month)
    currency = MARKETS[country][0]
    terms = []
    for term, billing in sku.terms:
        if term is None:
            continue
        terms.append(
            {
                "id": catalogue_code(catalogue.seed, "term", term, billing, length=12).lower(),
                "duration": term,
                "description": _TERM_DESCRIPTIONS[(term, billing)],
                "billingCycle": billing.capitalize(),
                "cancellationPolicies": [
                    {"refundOptions": [{"sequenceId": 0, "type": "Full", "expiresAfter": "P7D"}]}
                ],
            }
        )
    base = f"/products/{sku.product_id}/skus/{sku.id}/availabilities"
    return {
        "id": availability_id,
        "productId": sku.product_id,
        "skuId": sku.id,
        "catalogItemId": f"{sku.product_id}:{sku.id}:{availability_id}",
        "defaultCurrency": {"code": currency, "symbol": CURRENCY_SYMBOLS[currency]},
        "segment": "commercial",
        "country": country,
        "isPurchasable": sku.purchasable(month),
        "isRenewable": sku.kind == SUBSCRIPTION,
        "terms": terms,
        "links": {"self": _link(f"{base}/{availability_id}?country={country}")},
    }


def _link(uri):
    return {"uri": uri, "method": "GET", "headers": []}
