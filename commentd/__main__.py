"""``python -m commentd`` runs the CLI."""

from commentd.cli import main

if __name__ == "__main__":  # not in a process multiprocessing starts
    main()
