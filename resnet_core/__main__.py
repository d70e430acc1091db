"""``python -m resnet_core``: the command line."""

import sys

from resnet_core.cli import main

sys.exit(main())
