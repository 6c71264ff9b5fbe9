"""`python -m teamlens` runs the command line."""

from teamlens.cli import main

main()
