"""The bottom layer: what every other layer may use, and which uses none of them.

Domain errors (``errors``), the actor type (``actors``) and the roles, scopes and rules
of access (``access``) live here so that services, selectors and policies in any app can
raise, type and decide without knowing any front end; so do the small utilities every
layer shares: the request id of the running code (``context``), database helpers that
behave alike on PostgreSQL and SQLite (``db``) and field encryption (``crypto``). No DRF
here, and no import of any other package of the project (pyproject.toml, import-linter).
"""
