"""The one exception type the CLI turns into a clean message and exit code 1."""


class FsbenchError(Exception):
    """A user-facing error: bad input, a missing file, an impossible request.

    The message must name the file or option at fault and say what is wrong.
    """
