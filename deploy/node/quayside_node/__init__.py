"""quayside-node: a volunteer's smart node for a Quayside portal (docs/node.md).

Each cycle it registers with the portal, reads the catalog and swarm health by HTTP Range, ranks the
dataset versions at risk (fewest healthy copies), fills its storage budget with them (the last one by
pieces), downloads them from their web seeds in one libtorrent session, seeds them, reports what it holds,
and deletes what was tainted or withdrawn. It needs no Django and no open inbound port.
"""

__version__ = "0.1.0"
