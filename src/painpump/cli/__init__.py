"""The command line: parses quantities with units, calls core, prints a table or JSON."""
