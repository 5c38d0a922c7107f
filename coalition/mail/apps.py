from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "coalition.mail"
    label = "mail"
    verbose_name = "Outbound mail"
