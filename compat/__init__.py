"""The compatibility harness and the `compat` command line."""
