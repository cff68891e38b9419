"""`python -m batchgraph` is the `batchgraph` command."""

from batchgraph.cli import main

main()
