"""Sceptre's template for the cluster stack: it builds generators/cluster.py from the stack's sceptre_user_data."""

from wm.sceptre import template


def sceptre_handler(sceptre_user_data):
    return template("cluster", sceptre_user_data)
