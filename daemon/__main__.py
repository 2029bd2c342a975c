"""``python -m daemon``: the ``cadenced`` command, for installs without the console script."""

from daemon.cli.main import main

if __name__ == "__main__":
    main(prog_name="cadenced")
