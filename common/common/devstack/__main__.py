"""``python -m common.devstack``: the local stack's command line."""

from __future__ import annotations

import argparse
import sys

from .commands import create_api_key, exec_command, remove_test_leftovers, run_stack
from .paths import load_dotenv
from .services import ServiceError
from .stack import SERVICES, StackError


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m common.devstack",
        description="The local stack: both services on embedded (or environment-named) Postgres, Redis and Kafka.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="set up and run the whole stack (data kept in .devstack/) until Ctrl-C")
    exec_parser = commands.add_parser(
        "exec",
        help="run CMD with throw-away backing services (e.g. the tests)",
        description="Start throw-away backing services, run CMD with their addresses exported, stop them.",
    )
    exec_parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]")
    commands.add_parser("clean", help="stop and remove what interrupted `exec` runs left behind")
    api_key = commands.add_parser("api-key", help="create an API key in the running stack (printed once)")
    api_key.add_argument("--service", required=True, choices=[service.name for service in SERVICES])
    api_key.add_argument("--scopes", required=True, help="comma-separated, e.g. users:read,users:write")
    api_key.add_argument("--name", help="a label for the key (default: dev-<UTC timestamp>)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    arguments = parse_arguments(argv)
    try:
        if arguments.command == "run":
            load_dotenv()  # the operator's local settings; tests (exec) stay independent of them
            return run_stack()
        if arguments.command == "exec":
            command = arguments.cmd[1:] if arguments.cmd[:1] == ["--"] else arguments.cmd
            return exec_command(command)
        if arguments.command == "clean":
            remove_test_leftovers()
            return 0
        return create_api_key(arguments.service, arguments.scopes, arguments.name)
    except (StackError, ServiceError) as error:
        print(f"devstack: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
