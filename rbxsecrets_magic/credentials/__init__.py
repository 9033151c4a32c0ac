"""Credentials kept by the system: logins and the state's fingerprint key in the keyring.

:mod:`.system_keyring` is the keyring itself, every failure one line; :mod:`.store` keeps
logins (per API base URL) and fingerprint keys (per state folder) in it.
"""
