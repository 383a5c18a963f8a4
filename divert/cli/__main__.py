"""`python -m divert.cli.main`."""

import sys

from divert.cli.main.main import main

sys.exit(main())
