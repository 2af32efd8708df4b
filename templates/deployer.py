"""Sceptre's template for the deployer stack: it builds generators/deployer.py from the stack's sceptre_user_data."""

from wm.sceptre import template


def sceptre_handler(sceptre_user_data):
    return template("deployer", sceptre_user_data)
