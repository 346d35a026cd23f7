"""Mesa agents: operators, users (region x latency tier), grid agents, data centers.
Arrives with the co-simulation issue."""
