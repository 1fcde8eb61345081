"""Who is acting: the operating-system account of this process, never an environment variable."""

from __future__ import annotations

import os
import pwd


def current_operator() -> str:
    """The login name of the process's real user id."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid{os.getuid()}"
