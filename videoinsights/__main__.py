import sys

from videoinsights.cli import main

sys.exit(main())
