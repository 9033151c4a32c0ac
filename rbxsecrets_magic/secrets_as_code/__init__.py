"""Secrets as code: the manifest, the desired state, the plan, apply, and the state file."""
