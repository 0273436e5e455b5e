"""Errors the command line reports in its own words; here, apart from zmot.config, so commands that
read no config (`zmot sentiment`) need not import pydantic and the config models to start."""


class ConfigError(ValueError):
    """A config file is missing, unreadable or wrong; the message names the file, key and fix."""
