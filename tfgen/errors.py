"""Errors that are the user's to fix: the CLI prints them as one line and exits with status 2."""


def reason(err: BaseException, limit: int | None = None) -> str:
    """The first line of an exception's message (its type's name when it has none), cut to
    `limit` characters: the "why" of a one-line error."""
    lines = str(err).strip().splitlines()
    text = lines[0] if lines else type(err).__name__
    return text if limit is None else text[:limit]


class UserError(Exception):
    """A mistake in what the user asked for (a config key, a file, a flag), not a bug in tfgen."""


class ConfigError(UserError):
    """An unknown key, a wrong type or an out-of-range value in a config."""


class OptionError(ValueError):
    """A library option out of its range, or options that do not go together (a regulariser
    on a model it cannot regularise). Raised by the library wherever an option is checked --
    once, in the object that owns it -- and turned by the trainer into the one-line
    `ConfigError` of the config key that set it.

    Attributes:
        key: the option's name in the object that owns it (e.g. "target" of ADA).
    """

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


class DataError(UserError):
    """A dataset name that does not resolve, or data that cannot be read."""


class TrainingDiverged(Exception):
    """Training produced a non-finite loss, penalty or weight and was stopped."""


class TrainingCollapsed(TrainingDiverged):
    """Training collapsed: the samples of a generative model fell onto one mode or class."""


class Preempted(Exception):
    """Training was stopped by a signal (SIGTERM, SIGINT) after saving a checkpoint at the step
    under way; running the same command again resumes there.

    Attributes:
        signum: the signal's number (the CLI exits with 128 + signum, as the shell reports a
            process that signal ended).
        run_dir: the run directory, where known.
    """

    def __init__(self, message: str, signum: int, run_dir: str | None = None):
        super().__init__(message)
        self.signum = int(signum)
        self.run_dir = run_dir
