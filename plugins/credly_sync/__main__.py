"""``python -m credly_sync``: the admin command line."""

import sys

from credly_sync.cli import main

sys.exit(main())
