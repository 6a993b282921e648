"""Heron's command-line interface: ``heron <group> <command>``, one module per group.

``heron.cli.main`` assembles the groups; ``options`` and ``output`` hold what the commands
share (the tracking URI option, tables and JSON). ``docs/cli.md`` is generated from this tree
by ``scripts/gen_cli_docs.py``.
"""
