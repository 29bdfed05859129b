"""The admin login is throttled per (account, address): failures lock the pair out, a supervisor releases it.

Operators log in through the admin's own login form (the Django test client against the real database), from
the address each request gives as ``REMOTE_ADDR`` or, behind proxies, in X-Forwarded-For.
"""

import importlib
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
LOCKOUTS = "/admin/axes/accessattempt/"
PASSWORD = "the-right-password-7Q"
OFFICE, HOME = "198.51.100.10", "203.0.113.20"
SUPERVISORS = importlib.import_module("common.backoffice.migrations.0001_back_office_supervisors")


def log_in(username: str, password: str = PASSWORD, *, address: str = OFFICE, **headers: str):
    """One login through the admin's form, by a browser of its own; its response."""
    return Client().post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def fail_until_locked(username: str, **where: str) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = log_in(username, "a-wrong-password", **where)
    assert response.status_code == 429


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Every login checks a password: a fast hasher keeps these tests quick (the hasher is not what they test)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_user(username="ana", password=PASSWORD, is_staff=True)


@pytest.fixture
def colleague(django_user_model):
    return django_user_model.objects.create_user(username="bruno", password=PASSWORD, is_staff=True)


@pytest.fixture
def supervisor(django_user_model) -> Client:
    """A logged-in client of a staff member in the back office supervisors' group, as the migration makes it."""
    SUPERVISORS.create_group(apps, None)  # a flush by an earlier test removes what migrations created
    user = django_user_model.objects.create_user(username="carla", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=SUPERVISORS.SUPERVISORS))
    client = Client()
    client.force_login(user)
    return client


class TestLockout:
    def test_fewer_failures_than_the_limit_still_let_the_right_password_in(self, operator):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert log_in("ana", "a-wrong-password").status_code == 200  # the form again, with its error
        assert logged_in(log_in("ana"))

    def test_repeated_failures_lock_the_account_out_even_with_the_right_password(self, operator):
        fail_until_locked("ana")
        browser = Client()
        response = browser.post(LOGIN, {"username": "ana", "password": PASSWORD}, REMOTE_ADDR=OFFICE)
        assert response.status_code == 429
        assert browser.get("/admin/").status_code == 302  # not logged in: sent to the login page

    def test_the_locked_out_operator_sees_why_for_how_long_and_who_can_help(self, operator):
        fail_until_locked("ana")
        page = log_in("ana")
        text = page.content.decode()
        assert page.status_code == 429 and page["Content-Type"].startswith("text/html")
        assert "Login locked" in text and f"{settings.AXES_FAILURE_LIMIT} times" in text
        assert "Try again in 15 minutes" in text and "back office supervisor" in text
        assert "Credit platform · customers" in text  # the admin's own page, not a bare error

    def test_another_account_at_the_same_address_is_not_affected(self, operator, colleague):
        fail_until_locked("ana")
        assert logged_in(log_in("bruno"))

    def test_the_same_account_from_another_address_is_not_affected(self, operator):
        fail_until_locked("ana", address=OFFICE)
        assert logged_in(log_in("ana", address=HOME))

    def test_the_lockout_ends_once_the_cool_off_has_passed(self, operator):
        fail_until_locked("ana")
        AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
        assert logged_in(log_in("ana"))

    def test_a_success_forgets_the_earlier_failures(self, operator):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            log_in("ana", "a-wrong-password")
        assert logged_in(log_in("ana"))
        assert log_in("ana", "a-wrong-password").status_code == 200  # one failure after the success: no lockout


class TestRelease:
    def test_a_supervisor_sees_the_lockout_and_releasing_it_lets_the_account_log_in_again(self, operator, supervisor):
        fail_until_locked("ana")
        attempt = AccessAttempt.objects.get(username="ana")
        listing = supervisor.get(LOCKOUTS).content.decode()
        assert "ana" in listing and OFFICE in listing and "Locked Out" in listing

        released = supervisor.post(LOCKOUTS, {"action": "release", "_selected_action": [attempt.pk]}, follow=True)

        assert "1 released" in released.content.decode()
        assert logged_in(log_in("ana"))

    def test_releasing_counts_the_failures_of_every_browser_of_that_account_and_address(self, operator, supervisor):
        for agent in ("Firefox", "Chrome"):
            for _ in range(settings.AXES_FAILURE_LIMIT // 2 + 1):
                log_in("ana", "a-wrong-password", HTTP_USER_AGENT=agent)
        assert log_in("ana").status_code == 429
        one_of_them = AccessAttempt.objects.filter(username="ana").first()

        supervisor.post(LOCKOUTS, {"action": "release", "_selected_action": [one_of_them.pk]})

        assert not AccessAttempt.objects.filter(username="ana").exists()
        assert logged_in(log_in("ana"))

    def test_releasing_one_account_leaves_the_others_locked(self, operator, colleague, supervisor):
        fail_until_locked("ana")
        fail_until_locked("bruno")
        supervisor.post(LOCKOUTS, {"action": "release", "_selected_action": [AccessAttempt.objects.get(username="ana").pk]})
        assert logged_in(log_in("ana"))
        assert log_in("bruno").status_code == 429

    def test_staff_outside_the_supervisors_cannot_see_or_release_lockouts(self, operator, colleague):
        fail_until_locked("ana")
        staff = Client()
        staff.force_login(colleague)
        attempt = AccessAttempt.objects.get(username="ana")
        assert staff.get(LOCKOUTS).status_code == 403
        assert staff.post(LOCKOUTS, {"action": "release", "_selected_action": [attempt.pk]}).status_code == 403
        assert log_in("ana").status_code == 429


class TestAddressBehindProxies:
    @pytest.fixture(autouse=True)
    def one_proxy(self, settings):
        settings.TRUSTED_PROXY_COUNT = 1

    PROXY = "10.0.0.2"

    def test_operators_behind_the_same_proxy_are_counted_at_their_own_addresses(self, operator):
        fail_until_locked("ana", address=self.PROXY, HTTP_X_FORWARDED_FOR=OFFICE)
        assert log_in("ana", address=self.PROXY, HTTP_X_FORWARDED_FOR=OFFICE).status_code == 429
        assert logged_in(log_in("ana", address=self.PROXY, HTTP_X_FORWARDED_FOR=HOME))

    def test_an_address_the_client_writes_before_the_proxys_cannot_dodge_the_lockout(self, operator):
        fail_until_locked("ana", address=self.PROXY, HTTP_X_FORWARDED_FOR=OFFICE)
        forged = f"192.0.2.77, {OFFICE}"
        assert log_in("ana", address=self.PROXY, HTTP_X_FORWARDED_FOR=forged).status_code == 429
