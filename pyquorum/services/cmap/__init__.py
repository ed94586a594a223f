"""The cmap service: corosync's key/value configuration and runtime map, and the stats map.

:mod:`.core` holds its rules without I/O (docs/cmap.md).
"""
