"""The `kontosjef` command: the project's own commands and every Django management command.

`kontosjef demo`, `kontosjef migrate`, `kontosjef shell`, `kontosjef runserver`, ... all go through
Django's command machinery, so `kontosjef help` lists them.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kontosjef.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["kontosjef", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
