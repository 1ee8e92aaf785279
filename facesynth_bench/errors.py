"""The one exception type the CLI turns into a clean message and exit code 1."""

from __future__ import annotations


class FsbenchError(Exception):
    """A user-facing error: bad input, a missing file, an impossible request.

    The message names the file or value at fault and says what is wrong, in the library's
    terms. `parameter` names the library parameter whose value is at fault (e.g.
    "skip_bad"); the command line adds the option that sets it.
    """

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter
