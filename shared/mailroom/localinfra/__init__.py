"""Local infrastructure for development and tests: RabbitMQ, MongoDB and a mail sandbox.

Synchronous on purpose: used from pytest session fixtures and from `mailroom up`.
"""

from mailroom.localinfra.mailsandbox import MailSandbox
from mailroom.localinfra.mongo import MongoHandle, ensure_mongo
from mailroom.localinfra.ports import free_port, wait_for_port
from mailroom.localinfra.rabbitmq import RabbitHandle, ensure_rabbitmq
from mailroom.localinfra.stack import LocalStack

__all__ = [
    "LocalStack",
    "MailSandbox",
    "MongoHandle",
    "RabbitHandle",
    "ensure_mongo",
    "ensure_rabbitmq",
    "free_port",
    "wait_for_port",
]
