"""Customer portal: the Microsoft software subscriptions a portal user may see.

Who sees what is decided by the record rules of ``base.group_portal`` (a reseller: the
subscriptions it ordered; an end customer: those it is the end customer of): the list searches
as the portal user, and the detail page goes through ``_document_check_access`` (the rules, or
the record's own access token). Values are read with sudo only after that check.
"""

from werkzeug.exceptions import Forbidden, NotFound

from odoo import http
from odoo.exceptions import AccessError, MissingError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

MS_PORTAL_URL = "/my/software-subscriptions"
MS_PORTAL_STEP = 20


class MsSoftwareSubscriptionPortal(CustomerPortal):
    # === HOME CARD === #

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "ms_software_subscription_count" in counters:
            subscriptions = request.env["sale.subscription"]
            values["ms_software_subscription_count"] = (
                subscriptions.search_count(self._ms_subscription_domain())
                if subscriptions.has_access("read")
                else 0
            )
        return values

    # === LIST === #

    def _ms_subscription_domain(self):
        # the record rules restrict to the user's own; this keeps other subscriptions out
        return [("ms_is_microsoft", "=", True)]

    def _ms_sortings(self):
        return {
            "date": {
                "label": request.env._("Purchase date"),
                "order": "ms_purchase_date desc, id desc",
            },
            "name": {"label": request.env._("Name"), "order": "name, id"},
            "expiration": {
                "label": request.env._("Software Expiration Date"),
                "order": "ms_software_expiration_date, id",
            },
        }

    def _ms_search_inputs(self):
        return {
            "name": {"input": "name", "label": request.env._("Search in Name")},
            "status": {"input": "status", "label": request.env._("Search in Status")},
        }

    def _ms_search_domain(self, search_in, search):
        if not search:
            return []
        if search_in == "status":
            # match the labels people see (Active, Expired, Cancelled) and the keys
            statuses = (
                request.env["sale.subscription"]
                ._fields["ms_status"]
                ._description_selection(request.env)
            )
            keys = [
                key
                for key, label in statuses
                if search.lower() in label.lower() or search.lower() in key
            ]
            return [("ms_status", "in", keys)]
        return [("name", "ilike", search)]

    @http.route(
        [MS_PORTAL_URL, f"{MS_PORTAL_URL}/page/<int:page>"], type="http", auth="user", website=True
    )
    def portal_my_ms_software_subscriptions(
        self, page=1, sortby=None, search_in="name", search=None, **kw
    ):
        values = self._prepare_portal_layout_values()
        Subscription = request.env["sale.subscription"]
        sortings = self._ms_sortings()
        sortby = sortby if sortby in sortings else "date"
        search_in = search_in if search_in in self._ms_search_inputs() else "name"
        domain = self._ms_subscription_domain() + self._ms_search_domain(search_in, search)
        count = Subscription.search_count(domain) if Subscription.has_access("read") else 0
        pager = portal_pager(
            url=MS_PORTAL_URL,
            total=count,
            page=page,
            step=MS_PORTAL_STEP,
            url_args={"sortby": sortby, "search_in": search_in, "search": search},
        )
        subscriptions = (
            Subscription.search(
                domain,
                order=sortings[sortby]["order"],
                limit=MS_PORTAL_STEP,
                offset=pager["offset"],
            )
            if count
            else Subscription
        )
        request.session["my_ms_software_subscriptions_history"] = subscriptions.ids[:100]
        values.update(
            {
                "subscriptions": subscriptions.sudo(),
                "page_name": "ms_software_subscriptions",
                "default_url": MS_PORTAL_URL,
                "pager": pager,
                "searchbar_sortings": sortings,
                "sortby": sortby,
                "searchbar_inputs": self._ms_search_inputs(),
                "search_in": search_in,
                "search": search,
            }
        )
        return request.render(
            "ms_software_subscriptions.portal_my_ms_software_subscriptions", values
        )

    # === DETAIL === #

    @http.route(f"{MS_PORTAL_URL}/<int:subscription_id>", type="http", auth="public", website=True)
    def portal_my_ms_software_subscription(self, subscription_id, access_token=None, **kw):
        try:
            subscription = self._document_check_access(
                "sale.subscription", subscription_id, access_token=access_token
            )
        except MissingError as error:
            raise NotFound() from error
        except AccessError as error:
            # neither the record rules nor this record's own token allow it
            raise Forbidden() from error
        if not subscription.ms_is_microsoft:
            raise NotFound()
        values = self._get_page_view_values(
            subscription,
            access_token,
            {
                "subscription": subscription,
                "page_name": "ms_software_subscription",
            },
            "my_ms_software_subscriptions_history",
            False,
        )
        return request.render(
            "ms_software_subscriptions.portal_my_ms_software_subscription", values
        )
