"""WebFinger discovery: host-meta and the JRD of local accounts."""
