"""User errors: one exception family the CLI turns into one line and exit code 2.

Anything else escaping a command is a bug; `--debug` shows its traceback.
"""


class VercompareError(Exception):
    """A problem the user can fix. `hint` says how, in one short sentence."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = f"{self.message} (hint: {self.hint})" if self.hint else self.message
        # What users typed can hold a newline or a tab: shown escaped, the error stays one line.
        return text.translate(_CONTROL)


# control characters -> their escapes ("\n" for a newline), everything else as it is
_CONTROL = {c: repr(chr(c))[1:-1] for c in list(range(32)) + [127]}


class BadInput(VercompareError):
    """A value given on the command line or in a config file is wrong."""


class EngineUnavailable(VercompareError):
    """No container engine could be reached, or it lacks a needed feature (NVIDIA)."""


class RunDirError(VercompareError):
    """A run directory is missing, not ours, or does not match what was asked."""


class Cancelled(Exception):
    """Not a user error: the run is stopping (a signal, another worker's failure: its `cancel` event
    is set), and a build or a runner was stopped where it was; nothing was recorded for it. Raised
    by the workers (images.build, the backends, the driver) and caught by execution/scheduler.py."""
