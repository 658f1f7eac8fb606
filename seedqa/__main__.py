"""`python -m seedqa`: the same as the `seedqa` command (the bot's feed refresh runs it this way)."""

import sys

from .cli import main

sys.exit(main())
