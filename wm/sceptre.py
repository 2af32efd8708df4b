"""What Sceptre's template entry points (templates/*.py) call.

A configuration problem becomes a Sceptre error, so `sceptre` prints the file and
field of each problem instead of a Python traceback.
"""

from __future__ import annotations

from generators import render
from wm.config.schema import ConfigError


def handler(sceptre_user_data: dict) -> str:
    try:
        return render(sceptre_user_data)
    except ConfigError as err:
        from sceptre.exceptions import InvalidConfigFileError

        raise InvalidConfigFileError(f"configuration problems:\n{err}") from None
