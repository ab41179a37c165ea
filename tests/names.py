"""Whether a dotted name that a document mentions exists in the installed package."""

import importlib


def resolves(dotted: str) -> bool:
    """``fastmaze.a.b`` names a module, or an attribute of one (the longest importable
    prefix)."""
    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        for name in parts[k:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False
