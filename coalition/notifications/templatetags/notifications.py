"""The notification texts in mail templates: ``{% notification_subject %}`` and ``{% notification_sentence %}``.

Without an argument they read the mail's own context (one notification's mail); with
one, a digest's item.
"""

from django import template

from .. import texts

register = template.Library()


def _values(context, item):
    values = dict(item) if item is not None else context.flatten()
    return values.pop("kind", ""), {k: v for k, v in values.items() if isinstance(k, str)}


@register.simple_tag(takes_context=True)
def notification_subject(context, item=None) -> str:
    kind, values = _values(context, item)
    return texts.subject(kind, **values)


@register.simple_tag(takes_context=True)
def notification_sentence(context, item=None) -> str:
    kind, values = _values(context, item)
    return texts.sentence(kind, **values)
