"""`python -m stomptest.conformance [URL] ...`, the same as `stomptest conformance`."""

import sys

from stomptest.conformance.cli import main

sys.exit(main())
