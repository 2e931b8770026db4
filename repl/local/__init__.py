"""The embedded local session pool: the dynamic sessions API served on this machine.

The rest of acajs-repl reaches it only over HTTP, exactly as it reaches Azure.
"""
