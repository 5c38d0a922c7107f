"""Background tasks (Django's Tasks API; rows of the database backend, run by ``run_worker``)."""

from django_tasks import task

from coalition.core.context import bound_request_id

from . import webhooks


@task()
def deliver_webhook(delivery_id: str) -> str | None:
    """Send one webhook delivery if it is due and nobody else holds it."""
    with bound_request_id(f"task:deliver_webhook:{delivery_id}"):
        return webhooks.deliver(delivery_id)
