"""`python -m propose_backend ...` is the `propose-backend` command."""
import sys

from propose_backend.cli import main

sys.exit(main())
