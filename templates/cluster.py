"""Sceptre entry point of the cluster stacks; the template is built by generators/cluster.py."""

from wm.sceptre import handler


def sceptre_handler(sceptre_user_data):
    return handler(sceptre_user_data)
