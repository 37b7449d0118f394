"""The sensors stage: the registry of radars, the ASTERIX codec and the ingest that turns
datagrams from the wire into scans for the tracker (DESIGN.md, "Pipeline")."""
