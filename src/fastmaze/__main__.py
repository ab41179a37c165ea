"""``python -m fastmaze``: the same as the ``fastmaze`` command."""

from fastmaze.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
