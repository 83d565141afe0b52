import sys

from mailroom.cli.main import main

sys.exit(main())
