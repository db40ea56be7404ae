"""`python -m harness`."""

import sys

from harness.frontends.cli.main import main

sys.exit(main())
