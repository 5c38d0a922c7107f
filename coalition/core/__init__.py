"""The bottom layer: what every other layer may use, and which uses none of them.

Domain errors (``errors``) and the actor type (``actors``) live here so that services,
selectors and policies in any app can raise and type without knowing any front end.
"""
