"""Sceptre entry point of the deployer stack; the template is built by generators/deployer.py."""

from wm.sceptre import handler


def sceptre_handler(sceptre_user_data):
    return handler(sceptre_user_data)
