"""commentd: a self-hosted comment engine.

Nothing runs on import; the public names are imported lazily so that
``import commentd`` stays cheap for tools such as setup.py.
"""

from typing import TYPE_CHECKING, Any

from commentd.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from commentd.app import create_app
    from commentd.config import load_config

__all__ = ["__version__", "create_app", "load_config"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from commentd.app import create_app

        return create_app
    if name == "load_config":
        from commentd.config import load_config

        return load_config
    raise AttributeError(name)
