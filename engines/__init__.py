"""The shared workflow model and the engines that run it.

Shared by every engine: `model` (documents, validation, topology), `expressions`, `tools`,
`result`, `failures`, `clock`, `entry`, `config`, `documents` and `errors`. Each engine
lives in its own subpackage and shares none of its scheduling or execution code with
another.
"""
