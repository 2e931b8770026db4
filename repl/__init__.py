"""acajs-repl: a JavaScript REPL on Azure Container Apps dynamic sessions (NodeLTS)."""

__version__ = "0.1.0"
