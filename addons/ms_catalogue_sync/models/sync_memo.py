"""Memos kept on the cursor while a catalogue sync writes, and only then.

A first sync creates thousands of products, variants and pricelist items. For each record, and
for each float value, the ORM asks again for things that cannot change during the sync: the
precision of a decimal field, the default values of a model. The sync puts a memo on its cursor
(``cr.cache``, see ``ms.csp.catalogue.applier``) for the time it writes; without one, these are
Odoo's methods unchanged.
"""

from odoo import api, models

SYNC_MEMO = "ms_csp_sync_memo"


def sync_is_writing(env):
    """Whether a catalog sync is writing in this transaction (its memo is on the cursor)."""
    return env.cr.cache.get(SYNC_MEMO) is not None


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
        """Odoo's generic defaults of a model, the constant ones read once per sync and context.

        ``create`` reads them for every record. Fields whose default is computed (a method, a
        random colour, the current company's taxes) or inherited from a parent model are asked
        each time, as are the models' own ``default_get`` overrides: only what cannot differ from
        one record to the next is kept.
        """
        memo = _memo(self.env, "defaults")
        if memo is None:
            return super().default_get(fields_list)
        key = (self._name, tuple(fields_list), self.env.uid, self.env.su, self.env.context)
        if key not in memo:
            fields = self._fields
            computed = [name for name in fields_list if not constant_default(fields.get(name))]
            constant = [name for name in fields_list if name not in computed]
            memo[key] = (super().default_get(constant), computed)
        constant_values, computed = memo[key]
        values = dict(constant_values)
        if computed:
            values.update(super().default_get(computed))
        return values


def constant_default(field):
    """Whether ``field`` has no default of its own, or a plain value Odoo wrapped in a lambda.

    A value given as ``default=`` becomes a lambda made in ``Field._setup_attrs__``; anything else
    (a method, a lambda of the model) may answer differently each time. Default values set by
    users (``ir.default``) and passed in the context do not depend on the record either.
    """
    if field is None or field.inherited:
        return False
    default = field.default
    return default is None or (
        "_setup_attrs" in default.__qualname__ and default.__name__ == "<lambda>"
    )
