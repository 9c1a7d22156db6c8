"""`python -m mqlite ...`: the same command as the `mqlite` script."""

from mqlite.cli import main

# The guard matters: worker processes (e.g. SNS signing) re-import the main module.
if __name__ == "__main__":
    raise SystemExit(main())
