"""Sceptre's template for the model stack: it builds generators/model.py from the stack's sceptre_user_data."""

from wm.sceptre import template


def sceptre_handler(sceptre_user_data):
    return template("model", sceptre_user_data)
