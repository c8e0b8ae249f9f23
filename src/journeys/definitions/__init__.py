"""Trigger and journey definitions: the language authors write, and its rules.

`common`, `conditions`, `triggers` and `journeys` hold the models; `validation`
checks what needs the trigger catalog; `documents` reads files.
"""
