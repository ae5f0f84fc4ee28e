"""DNS: the wire format, the authoritative responder, and the UDP/TCP transport."""
