"""Each distinct client address's country, AS and crawler operators, looked
up once and stored (`client_networks`), so the classified views join them in
SQL like the user-agent and path verdicts."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from netsift.detection.crawlers import CrawlerNetworks
from netsift.detection.geoip import GeoLookup, public_address
from netsift.detection.increments import Unseen
from netsift.detection.sources import SOURCES
from netsift.detection.verdicts import CHUNK, _in_objects
from netsift.schema import client_networks


def lookup_version(geo: GeoLookup, networks: CrawlerNetworks) -> str:
    return f"{geo.version}|{networks.version}"


def client_network_row(address: str, geo: GeoLookup, networks: CrawlerNetworks, version: str) -> dict:
    """An address that is not public (private, documentation, malformed) has
    no operators (NULL): nobody's network, and not judged, since behind a
    proxy or NAT the address says nothing about who sent the request."""
    public = public_address(address)
    found = geo.network(address)
    operators = None if public is None else "," + "".join(f"{op}," for op in networks.operators_of(public, found))
    return {"client_ip": address, "country": found.country, "asn": found.asn, "as_org": found.as_org,
            "crawler_operators": operators, "lookup_version": version}  # fmt: skip


def locate_new_clients(conn: Connection, unseen: Unseen, geo: GeoLookup, networks: CrawlerNetworks) -> int:
    """Rows for the unseen rows' clients that have none for this database and
    networks file (rows of another are dropped first). Returns how many."""
    version = lookup_version(geo, networks)
    conn.execute(client_networks.delete().where(client_networks.c.lookup_version != version))
    clients: set[str] = set()
    for source in SOURCES:
        ids = None if unseen.everything else unseen.of(source.kind)
        if ids == []:
            continue
        clients |= _in_objects(
            f"SELECT DISTINCT r.{source.client} FROM {source.table} r WHERE {{objects}} AND r.{source.client} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM client_networks g WHERE g.client_ip = r.{source.client})",
            conn, ids,
        )  # fmt: skip
    rows = [client_network_row(address, geo, networks, version) for address in clients]
    for start in range(0, len(rows), CHUNK):
        conn.execute(insert(client_networks), rows[start : start + CHUNK])
    return len(rows)


def networks_of(conn: Connection, clients: list[str]) -> dict[str, dict]:
    """Country, AS number and organisation per client, for alert evidence."""
    found = {}
    for start in range(0, len(clients), CHUNK):
        query = select(client_networks.c.client_ip, client_networks.c.country, client_networks.c.asn,
                       client_networks.c.as_org).where(client_networks.c.client_ip.in_(clients[start : start + CHUNK]))  # fmt: skip
        for row in conn.execute(query):
            found[row.client_ip] = {"country": row.country, "asn": row.asn, "as_org": row.as_org}
    return found
