"""Sceptre's template for the iam stack: it builds generators/iam.py from the stack's sceptre_user_data."""

from wm.sceptre import template


def sceptre_handler(sceptre_user_data):
    return template("iam", sceptre_user_data)
