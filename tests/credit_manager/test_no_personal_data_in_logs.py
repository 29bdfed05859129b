"""Nothing personal leaves credit_manager through its logs: a customer's income and birth date (what
user events carry) are never written, whether their events apply, fail until they are dead-lettered, or a
task fails on the customer's data.

Every record of every logger is captured, from DEBUG up whatever the configured levels, and rendered by
the project's formatters (tracebacks included). The failures are real: the database refuses the rows
(its error, ``Failing row contains (...)``, holds every value of the row).
"""

import secrets
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from celery import current_app
from celery.worker.consumer.consumer import Consumer
from kombu.exceptions import ContentDisallowed, DecodeError
from support import CustomerHistory

from accounts.models import CreditAccount
from analysis.models import LimitRequest
from analysis.services import request_limit
from analysis.tasks import decide_limit_request_task
from common.messaging import event_batch
from common.messaging.tasks import process_event, process_events
from common.outbox.tasks import relay_outbox
from common.testing import database_refuses_new_rows, read_topic
from common.testing_logs import every_log_line, found_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class Customer(CustomerHistory):
    """A customer whose income and birth date no other line of the logs could hold by chance."""

    def __init__(self) -> None:
        super().__init__(income=f"{secrets.randbelow(90_000) + 10_000}.{secrets.randbelow(89) + 11}")
        self.birth_date = date(1979, 11, 23)

    def values(self) -> dict[str, str]:
        return {"income": str(self.income), "income with a comma": str(self.income).replace(".", ","), "birth date": "1979-11-23"}


def assert_nothing_personal(lines: list[str], *customers: Customer) -> None:
    values = {f"{what} of customer {index}": value for index, c in enumerate(customers) for what, value in c.values().items()}
    leaks = found_in(lines, values)
    assert not leaks, "personal data in the logs:\n" + "\n".join(leaks)


def hand_off(*events) -> dict:
    """The events as the consumer hands them to a queue worker: one batch task, each envelope as its JSON text."""
    return process_events.apply(args=[[event.model_dump_json() for event in events]]).get()


class TestTheCaptureItself:
    def test_it_sees_info_lines_whatever_the_configured_level(self):
        with every_log_line() as lines:
            assert hand_off(Customer().created()) == {"handled": 1}
        assert any("batch applied together: 1 handled" in line for line in lines), lines


class TestEventsThatApply:
    def test_a_new_customer_and_an_income_change(self):
        customer, before = Customer(), None
        with every_log_line() as lines:
            assert hand_off(customer.created()) == {"handled": 1}
            before = Customer()  # the income the customer had: the change must not write it either
            before.income = customer.income
            assert hand_off(customer.income_changed(f"{customer.income + Decimal('1234.56')}")) == {"handled": 1}
            assert relay_outbox.apply().get()["failed"] == 0
        assert CreditAccount.objects.get(user_id=customer.user_id).monthly_income == customer.income
        assert_nothing_personal(lines, customer, before)


class TestFailures:
    def test_an_event_that_keeps_failing_is_dead_lettered_without_writing_its_data(self, task_queue, dead_letter_topic):
        customer = Customer()
        event = customer.created()
        with every_log_line() as lines, database_refuses_new_rows(CreditAccount):
            assert hand_off(event) == {"retrying": 1}
            [alone] = task_queue.messages("common.messaging.process_event")
            outcome = process_event.apply(args=alone["args"], retries=alone["retries"]).get()
        assert outcome == "dead_lettered"
        assert [record.value for record in read_topic(dead_letter_topic, expect=1)] == [event.to_bytes()]
        assert any("IntegrityError" in line for line in lines), "the failure was not the database's refusal"
        assert_nothing_personal(lines, customer)

    def test_a_task_that_fails_on_the_customers_data_writes_none_of_it(self):
        customer = Customer()
        hand_off(customer.created())
        account = CreditAccount.objects.get(user_id=customer.user_id)
        limit_request = request_limit(account_id=account.id, requested_limit=account.credit_limit + 1000)
        with every_log_line() as lines, database_refuses_new_rows(CreditAccount):  # the account's row holds income and birth date
            result = decide_limit_request_task.apply(args=[str(limit_request.id)])
        assert result.failed() and LimitRequest.objects.get(id=limit_request.id).status == "pending"
        assert any("IntegrityError" in line for line in lines), "the failure was not the database's refusal"
        assert_nothing_personal(lines, customer)


class DroppedMessage:
    """A batch of events as a worker receives it from the broker, for Celery's handlers of messages it drops."""

    content_type = event_batch.CONTENT_TYPE
    content_encoding = "utf-8"
    delivery_info: dict = {}
    properties: dict = {}

    def __init__(self, *events) -> None:
        self.body = event_batch.encode(([[event.model_dump_json() for event in events]], {}, {})).encode()
        self.headers = {"task": "common.messaging.process_events", "id": "a-task-id"}
        self.dropped = False

    def ack(self) -> None:
        self.dropped = True

    def reject_log_error(self, logger, errors) -> None:
        self.dropped = True


class TestMessagesAWorkerDropsUnread:
    """A worker that cannot read a batch (a body it cannot decode, a content type it does not accept, a
    task it does not know) drops it with a line that would quote the body: the body is left out."""

    def test_a_body_it_cannot_decode(self):
        customer, worker = Customer(), SimpleNamespace(connection_errors=())
        message = DroppedMessage(customer.created())
        with every_log_line() as lines:
            Consumer.on_decode_error(worker, message, DecodeError("unreadable"))
        assert message.dropped and any("Can't decode message body" in line for line in lines)
        assert_nothing_personal(lines, customer)

    def test_a_content_type_it_does_not_accept(self):
        customer, worker = Customer(), SimpleNamespace(connection_errors=())
        message = DroppedMessage(customer.created())
        with every_log_line() as lines:
            Consumer.on_invalid_task(worker, None, message, ContentDisallowed("untrusted content"))
        assert message.dropped and any("invalid task message" in line for line in lines)
        assert_nothing_personal(lines, customer)

    def test_a_task_it_does_not_know(self):
        customer = Customer()
        worker = SimpleNamespace(connection_errors=(), app=current_app, event_dispatcher=None)
        message = DroppedMessage(customer.created())
        with every_log_line() as lines:
            Consumer.on_unknown_task(worker, None, message, KeyError("common.messaging.process_events"))
        assert message.dropped and any("unregistered task" in line for line in lines)
        assert_nothing_personal(lines, customer)
