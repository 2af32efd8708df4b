"""Sceptre's template for the alerts stack: it builds generators/alerts.py from the stack's sceptre_user_data."""

from wm.sceptre import template


def sceptre_handler(sceptre_user_data):
    return template("alerts", sceptre_user_data)
