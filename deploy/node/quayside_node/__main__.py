"""python -m quayside_node …"""

import sys

from .cli import main

sys.exit(main())
