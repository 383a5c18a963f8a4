"""`python -m divert.cli`."""

import sys

from divert.cli.main import main

sys.exit(main())
