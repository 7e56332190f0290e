"""``python -m hypersync_slo``: the same as the ``hypersync-slo`` command."""

import sys

from hypersync_slo.cli import main

sys.exit(main())
