"""Webhook deliveries (filled in by the integration work)."""


def schedule_deliveries(event) -> None:
    """Create one delivery per active endpoint subscribed to ``event``'s type."""
    return None
