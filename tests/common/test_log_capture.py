"""The capture the personal-data tests rely on sees what they claim: every logger at every level, rendered
by the project's formatters, tracebacks and extra fields included, whatever ``LOG_LEVEL`` says."""

import logging

from common.testing_logs import every_log_line, found_in

SECRET = "leak-probe-4f9d2c"


def test_a_debug_line_of_a_logger_turned_down_to_warning_is_seen():
    with every_log_line() as lines:
        logging.getLogger("celery.app.trace").debug("value %s", SECRET)
    assert found_in(lines, {"secret": SECRET})


def test_a_traceback_is_rendered_with_the_exception_text():
    with every_log_line() as lines:
        try:
            raise ValueError(SECRET)
        except ValueError:
            logging.getLogger("common.anything").warning("failed", exc_info=True)
    assert any("Traceback" in line and SECRET in line for line in lines)


def test_extra_fields_are_rendered_as_the_json_formatter_writes_them():
    with every_log_line() as lines:
        logging.getLogger("django.request").warning("refused", extra={"request": f"GET /?q={SECRET}"})
    assert any(line.startswith("{") and SECRET in line for line in lines)


def test_each_line_comes_in_every_format_and_the_levels_come_back_after():
    celery_trace = logging.getLogger("celery.app.trace")
    level = celery_trace.level
    with every_log_line() as lines:
        celery_trace.info("one line")
    assert len(lines) == 2 and lines[0].startswith("{") and not lines[1].startswith("{")
    assert celery_trace.level == level


def test_found_in_names_what_it_found_in_any_case():
    assert found_in(["a Leak-Probe-4F9D2C b", "clean"], {"secret": SECRET}) == ["secret: …a Leak-Probe-4F9D2C b…"]
