"""Background tasks of the outbox (Django's Tasks API; rows of the database backend, run by ``run_worker``)."""

from django_tasks import task

from coalition.core.context import bound_request_id

from . import services


@task()
def send_mail(mail_id: str) -> str | None:
    """Send one outbound mail if it is due and nobody else holds it."""
    with bound_request_id(f"task:send_mail:{mail_id}"):
        return services.deliver(mail_id)
