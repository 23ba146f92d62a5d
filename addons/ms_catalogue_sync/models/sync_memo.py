"""Memos kept on the cursor while a catalogue sync writes, and only then.

A first sync creates thousands of products, variants and pricelist items. For each record, and
for each float value, the ORM asks again for things that cannot change during the sync: the
precision of a decimal field, the default values of a model. The sync puts a memo on its cursor
(``cr.cache``, see ``ms.csp.catalogue.applier``) for the time it writes; without one, these are
Odoo's methods unchanged.
"""

from odoo import api, models

SYNC_MEMO = "ms_csp_sync_memo"


def _memo(env, kind):
    memo = env.cr.cache.get(SYNC_MEMO)
    return None if memo is None else memo.setdefault(kind, {})


class DecimalPrecision(models.Model):
    _inherit = "decimal.precision"

    def precision_get(self, application):
        """A precision is read once per sync: every float conversion asks for it.

        "Discount" is never kept: the accounting module answers it differently inside some of
        its own computations.
        """
        memo = _memo(self.env, "precision")
        if memo is None or application == "Discount":
            return super().precision_get(application)
        if application not in memo:
            memo[application] = super().precision_get(application)
        return memo[application]


class Base(models.AbstractModel):
    _inherit = "base"

    @api.model
    def default_get(self, fields_list):
        """Odoo's generic defaults of a model, read once per sync and context.

        ``create`` reads them for every record. Models that override ``default_get`` still run
        their own code on each call: only the generic part is kept.
        """
        memo = _memo(self.env, "defaults")
        if memo is None:
            return super().default_get(fields_list)
        key = (self._name, tuple(fields_list), self.env.uid, self.env.su, self.env.context)
        if key not in memo:
            memo[key] = super().default_get(fields_list)
        return dict(memo[key])
