"""corosync's quorum service (libquorum): is this node quorate, who are the members."""
