#!/usr/bin/env python3
"""Django's command-line entry point for the shipyard reference app."""
import os
import sys


def main():
    """Run the management command named on the command line."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # pylint: disable-next=import-outside-toplevel
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
