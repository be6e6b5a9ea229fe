"""Errors a user can fix. The CLI prints them as one line and exits with code 2."""


class EdgekitError(Exception):
    """A problem with the user's input or environment, with a message that says what to do."""

    exit_code = 2


class MissingDependencyError(EdgekitError):
    """An optional package or board runtime is not installed; the message says how to get it."""

    def __init__(self, what: str, hint: str) -> None:
        super().__init__(f"{what} is not available: {hint}")


class StartupError(EdgekitError):
    """Found before the daemon starts anything; each case is a subclass, so start-up decides by type, not wording."""
