"""Performance parity: both engines measured side by side, compared with statistics, and
recommendations drawn from the measurements (docs/performance.md)."""
