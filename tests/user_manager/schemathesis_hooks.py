"""Hooks of the schemathesis CLI run from outside against a running user_manager (``schemathesis.toml``)."""

import random
import sys
from pathlib import Path

import schemathesis

sys.path.insert(0, str(Path(__file__).parent))

from fuzz_rules import cpf, obey_the_rules_no_schema_states  # noqa: E402


@schemathesis.hook
def before_call(context, case, **kwargs) -> None:
    """A random CPF: the stack's database outlives a run, so a counter would repeat the last run's ones."""
    obey_the_rules_no_schema_states(case, tax_id=cpf(random.randrange(100_000_000, 1_000_000_000)))
