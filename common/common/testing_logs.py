"""Every log line a block of code writes, as the project's formatters render it, for the tests that prove
no personal data or secret reaches the logs.

The capture ignores the configured levels (``LOG_LEVEL``, a library turned down to WARNING): what an
operator could switch on must be clean too. Each record goes through the filters of the handlers of
``settings.LOGGING`` (the log context, and whatever keeps data out) and is rendered by each of its
formatters (JSON with its extra fields, plain text), tracebacks included.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import logging.config
import re
from collections.abc import Iterable, Iterator

from django.conf import settings


class _RenderEveryRecord(logging.Handler):
    def __init__(self, formatters: list[logging.Formatter], filters: list[logging.Filter]) -> None:
        super().__init__(level=logging.DEBUG)
        self.formatters = formatters
        self.lines: list[str] = []
        for log_filter in filters:
            self.addFilter(log_filter)

    def emit(self, record: logging.LogRecord) -> None:
        # Rendered now: a traceback's frames and the log context are gone once the block has run.
        for formatter in self.formatters:
            record.exc_text = None  # each formatter renders the traceback itself
            self.lines.append(formatter.format(record))


def _project_handler() -> _RenderEveryRecord:
    """A handler with every formatter of ``settings.LOGGING`` and the filters its handlers apply, built as
    ``logging.config`` builds them."""
    configurator = logging.config.DictConfigurator(copy.deepcopy(settings.LOGGING))
    config = configurator.config
    formatters = [configurator.configure_formatter(entry) for entry in config.get("formatters", {}).values()]
    names = dict.fromkeys(name for handler in config.get("handlers", {}).values() for name in handler.get("filters", []))
    return _RenderEveryRecord(formatters, [configurator.configure_filter(config["filters"][name]) for name in names])


@contextlib.contextmanager
def every_log_line() -> Iterator[list[str]]:
    """Capture what every logger writes inside the block, from DEBUG up, rendered; yields the lines."""
    handler = _project_handler()
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    disabled_below = logging.root.manager.disable
    logging.disable(logging.NOTSET)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        if logger is logging.root or not logger.propagate:
            logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        for logger, level, disabled in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.disabled = disabled
        logging.disable(disabled_below)


def found_in(lines: Iterable[str], values: dict[str, str]) -> list[str]:
    """``"<what>: …<where in the line>…"`` for each line that holds one of ``values`` (``{what: value}``), in any case."""
    patterns = {what: re.compile(re.escape(value), re.IGNORECASE) for what, value in values.items() if value}
    found = []
    for line in lines:
        for what, pattern in patterns.items():
            match = pattern.search(line)
            if match:
                found.append(f"{what}: …{line[max(match.start() - 150, 0) : match.end() + 50]}…")
    return found
