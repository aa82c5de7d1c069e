"""THE tail of every command line: ``-v``, the logging setup, and malformed input as one line and exit status 2.

Each CLI declares its arguments and a ``run(args) -> int`` body; :func:`run_cli` does what is left, the same for all:

Example:
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_verbose(p)
    >>> def run(args):
    ...     raise InputError("bad labels file")
    >>> run_cli(p, ["-v"], run)
    2
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence

from dfdetect.core.io import InputError, setup_logging

log = logging.getLogger(__name__)


def add_verbose(parser: argparse.ArgumentParser) -> None:
    """Add ``-v/--verbose`` (debug logging) to ``parser``."""
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def run_cli(parser: argparse.ArgumentParser, argv: Sequence[str] | None,
            run: Callable[[argparse.Namespace], int | None]) -> int:
    """Parse ``argv``, set up logging (debug with ``-v``), and return ``run(args)`` (``None`` counts as 0).

    Args:
        parser: the command's parser (with :func:`add_verbose`; a parser without ``verbose`` logs at INFO).
        argv: the arguments (None: ``sys.argv[1:]``).
        run: the command's body; it may raise :class:`~dfdetect.core.io.InputError` anywhere.

    Returns:
        ``run``'s exit status, or 2 after logging an ``InputError``'s message as one line (no traceback).
    """
    args = parser.parse_args(argv)
    setup_logging(getattr(args, "verbose", False))
    try:
        status = run(args)
    except InputError as e:
        log.error("%s", e)
        return 2
    return 0 if status is None else int(status)
