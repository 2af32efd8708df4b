"""Sceptre's template for the batch stack: it builds generators/batch.py from the stack's sceptre_user_data."""

from wm.sceptre import template


def sceptre_handler(sceptre_user_data):
    return template("batch", sceptre_user_data)
