"""The ``redcolor`` command line: parse, call one library function, render. No logic here."""
