"""The programs that run gtm, on one node lifecycle (`node.Node`): `serve` (the DNS server with
its health checks, reloads and HTTP API, and its `workers`), `check` (a checker agent, and its
`shards`) and `announce` (a BGP speaker for ExaBGP). `zone_follower` is the one polling loop
that keeps each of them on the zones directory."""
