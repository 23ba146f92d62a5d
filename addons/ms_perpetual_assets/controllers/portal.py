from odoo import http
from odoo.exceptions import AccessError, MissingError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

ASSET_MODEL = "ms.perpetual.asset"
LIST_URL = "/my/perpetual-licenses"


class PerpetualLicensePortal(CustomerPortal):
    """``/my/perpetual-licenses``: the licenses a portal user's company ordered or uses.

    What a user sees is decided by the record rules of ``ms.perpetual.asset`` (searches run
    as the user); records are only read as superuser once the rules let them through.
    """

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "perpetual_license_count" in counters:
            Asset = request.env[ASSET_MODEL]
            values["perpetual_license_count"] = (
                Asset.search_count([]) if Asset.has_access("read") else 0
            )
        return values

    def _ms_perpetual_sortings(self):
        return {
            "date": {
                "label": request.env._("Purchase date"),
                "order": "purchase_date desc, id desc",
            },
            "name": {"label": request.env._("Name"), "order": "name, id"},
        }

    def _ms_perpetual_search_inputs(self):
        return {
            "name": {"input": "name", "label": request.env._("Search in Name")},
            "status": {"input": "status", "label": request.env._("Search in Status")},
        }

    def _ms_perpetual_search_domain(self, search_in, search):
        if not search:
            return []
        if search_in == "status":
            Asset = request.env[ASSET_MODEL]
            needle = search.strip().lower()
            keys = [
                key
                for field_name in ("status", "sync_status")
                for key, label in Asset._fields[field_name]._description_selection(request.env)
                if needle in label.lower() or needle == key
            ]
            return ["|", ("status", "in", keys), ("sync_status", "in", keys)]
        return [("name", "ilike", search)]

    @http.route([LIST_URL, f"{LIST_URL}/page/<int:page>"], type="http", auth="user", website=True)
    def portal_my_perpetual_licenses(
        self, page=1, sortby=None, search=None, search_in="name", **kw
    ):
        Asset = request.env[ASSET_MODEL]
        sortings = self._ms_perpetual_sortings()
        inputs = self._ms_perpetual_search_inputs()
        sortby = sortby if sortby in sortings else "date"
        search_in = search_in if search_in in inputs else "name"
        domain = self._ms_perpetual_search_domain(search_in, search)
        pager = portal_pager(
            url=LIST_URL,
            total=Asset.search_count(domain),
            page=page,
            step=self._items_per_page,
            url_args={"sortby": sortby, "search": search, "search_in": search_in},
        )
        assets = Asset.search(
            domain,
            order=sortings[sortby]["order"],
            limit=self._items_per_page,
            offset=pager["offset"],
        )
        request.session["my_perpetual_licenses_history"] = assets.ids[:100]
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "assets": assets.sudo(),
                "page_name": "perpetual_license",
                "pager": pager,
                "default_url": LIST_URL,
                "searchbar_sortings": sortings,
                "sortby": sortby,
                "searchbar_inputs": inputs,
                "search_in": search_in,
                "search": search,
            }
        )
        return request.render("ms_perpetual_assets.portal_my_perpetual_licenses", values)

    @http.route([f"{LIST_URL}/<int:asset_id>"], type="http", auth="public", website=True)
    def portal_my_perpetual_license(self, asset_id, access_token=None, **kw):
        try:
            asset_sudo = self._document_check_access(ASSET_MODEL, asset_id, access_token)
        except MissingError as error:
            raise request.not_found() from error
        except AccessError:
            raise  # 403: the record exists, but not for this user (nor with this token)
        values = self._get_page_view_values(
            asset_sudo,
            access_token,
            {"asset": asset_sudo, "page_name": "perpetual_license"},
            "my_perpetual_licenses_history",
            False,
            **kw,
        )
        return request.render("ms_perpetual_assets.portal_my_perpetual_license", values)
