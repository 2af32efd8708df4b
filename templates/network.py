"""Sceptre entry point of the network stacks; the template is built by generators/network.py."""

from wm.sceptre import handler


def sceptre_handler(sceptre_user_data):
    return handler(sceptre_user_data)
