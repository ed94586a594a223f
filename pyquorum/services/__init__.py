"""corosync services: one package each (quorum, votequorum, cmap)."""
