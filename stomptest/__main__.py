"""`python -m stomptest`: the same as the `stomptest` command."""

import sys

from stomptest.cli import main

if __name__ == "__main__":
    sys.exit(main())
