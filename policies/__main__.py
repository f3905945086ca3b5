"""``python -m policies``: the policy command line (see :mod:`policies.cli`)."""

from policies.cli import main

raise SystemExit(main())
