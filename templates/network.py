"""Sceptre's template for the network stack: it builds generators/network.py from the stack's sceptre_user_data."""

from wm.sceptre import template


def sceptre_handler(sceptre_user_data):
    return template("network", sceptre_user_data)
