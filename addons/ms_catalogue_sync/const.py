"""Constants of the Microsoft catalogue: product kinds, term plans and their units."""

KIND_SOFTWARE_SUBSCRIPTION = "ms_software_subscription"
KIND_PERPETUAL = "ms_perpetual"

# partner_center's SKU kinds -> the product's service_tracking value
KIND_BY_SKU_KIND = {
    "software_subscription": KIND_SOFTWARE_SUBSCRIPTION,
    "perpetual": KIND_PERPETUAL,
}

# A term plan is a term duration with a billing plan; each is one product variant.
TERM_PLAN_P1Y_ANNUAL = "P1Y_annual"
TERM_PLAN_P3Y_ANNUAL = "P3Y_annual"
TERM_PLAN_P3Y_TRIENNIAL = "P3Y_triennial"
TERM_PLAN_ONE_TIME = "one_time"

TERM_PLANS = {
    # key: (term duration, billing plan, xmlid of the attribute value, xmlid of the unit)
    TERM_PLAN_P1Y_ANNUAL: ("P1Y", "annual", "term_value_p1y_annual", "uom_annual"),
    TERM_PLAN_P3Y_ANNUAL: ("P3Y", "annual", "term_value_p3y_annual", "uom_annual"),
    TERM_PLAN_P3Y_TRIENNIAL: ("P3Y", "triennial", "term_value_p3y_triennial", "uom_triennial"),
    TERM_PLAN_ONE_TIME: (None, "one_time", None, None),
}

# What a term plan adds to the SKU code in a variant's internal reference
VARIANT_CODE_SUFFIX = {
    TERM_PLAN_P1Y_ANNUAL: "P1Y-annual",
    TERM_PLAN_P3Y_ANNUAL: "P3Y-annual",
    TERM_PLAN_P3Y_TRIENNIAL: "P3Y-triennial",
}


def variant_code(sku_code, term_plan):
    """The internal reference of a Microsoft variant: its SKU code and its term."""
    suffix = VARIANT_CODE_SUFFIX.get(term_plan)
    return f"{sku_code} {suffix}" if suffix else sku_code


CATALOG_STATUS_NEW = "new"
CATALOG_STATUS_AVAILABLE = "available"
CATALOG_STATUS_RETIRED = "no_longer_available"


def term_plan_key(term_duration, billing_plan):
    """The term plan of a price-sheet row or catalogue entry, ``None`` when not sold here."""
    for key, (term, billing, _value, _uom) in TERM_PLANS.items():
        if term == (term_duration or None) and billing == billing_plan:
            return key
    return None
