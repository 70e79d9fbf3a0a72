"""The journey export and the fake `parlant.sdk` checked against the installed Parlant SDK."""
