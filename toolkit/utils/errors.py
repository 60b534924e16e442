"""User errors: bad input the user can fix, as opposed to bugs in the toolkit.

Every module that checks input raises a subclass of `UserError` whose message names the file,
line or utterance and says what to do. Entry points (`toolkit.utils.cli.entry_point`) print that
message as it is and exit with status 1; anything else is a bug and keeps its traceback.
"""


class UserError(ValueError):
    """Input that cannot be used; the message names where it is and what to do about it."""
