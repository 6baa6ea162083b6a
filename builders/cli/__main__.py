"""`python -m builders.cli` (how `khc verify` runs a recorded commit's own code)."""

import sys

from builders.cli import main

sys.exit(main())
