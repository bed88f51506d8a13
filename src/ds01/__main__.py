"""``python -m ds01`` runs the command-line interface."""

from ds01.cli import main

if __name__ == "__main__":
    main()
