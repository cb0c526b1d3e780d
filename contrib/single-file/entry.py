"""The entry point PyInstaller freezes: the same ``main`` as the ``commentd`` console script."""

from commentd.cli import main

if __name__ == "__main__":
    main()
