"""One tree of typed errors. The CLI turns them into one line and an exit code; HTTP into a 4xx."""


class RedcolorError(Exception):
    """Base of every error redcolor raises on purpose. ``str(err)`` is one line for a user."""

    exit_code = 2


class InputError(RedcolorError):
    """Bad input from a user: a coordinate, a name, an option, a request parameter."""


class NotFoundError(RedcolorError):
    """A named thing (area, scenario, alert, event) does not exist."""


class DataFileError(RedcolorError):
    """A data file is missing or corrupt. The message names the file."""


class ScenarioError(InputError):
    """A scenario file is malformed. The message names the file and the field."""


class MeasurementError(InputError):
    """A sensor message is malformed; it is counted and dropped, never stops the pipeline."""


class StoreError(RedcolorError):
    """The alert store cannot be opened or written."""


class AuthError(RedcolorError):
    """A credential is missing, unknown, revoked or wrong (HTTP 401)."""


class ForbiddenError(AuthError):
    """A valid credential that does not allow this action: wrong role, id or areas (HTTP 403)."""


class ConflictError(RedcolorError):
    """The thing exists already and may not be replaced this way."""


class LimitError(RedcolorError):
    """A rate limit is reached; ``retry_after_s`` says when to try again."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class CapacityError(RedcolorError):
    """The server holds as many of something as it is configured to (a cap, not a rate)."""
