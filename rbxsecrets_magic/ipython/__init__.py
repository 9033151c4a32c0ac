"""The ``%rbx_secret_*`` magics: read the line, call an operation, word and render its result."""
