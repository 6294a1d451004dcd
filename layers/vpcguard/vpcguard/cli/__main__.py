"""`python -m vpcguard.cli` runs the CLI, as `python -m vpcguard` does."""

import sys

from . import main

sys.exit(main())
