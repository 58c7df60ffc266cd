"""`python -m postbot` is `postbot`."""

from postbot.cli import main

main()
