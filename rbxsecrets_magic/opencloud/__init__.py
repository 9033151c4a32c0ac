"""The Open Cloud client: operations on the secrets API, sending, pacing, sealing, validation.

Nothing here knows about manifests, IPython or the command line.
"""
