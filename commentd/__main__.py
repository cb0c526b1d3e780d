"""``python -m commentd`` runs the CLI."""

from commentd.cli import main

main()
