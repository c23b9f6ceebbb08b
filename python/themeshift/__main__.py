"""`python -m themeshift …` is the `themeshift` command."""
import sys

from . import main

sys.exit(main())
