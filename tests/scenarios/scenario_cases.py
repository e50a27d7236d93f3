"""Shared scenario test data: the shipped files, and a small base topology tests add to."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))

BASE = """\
name: base
networks:
  - {name: public, project: admin, external: true}
  - {name: web-net}
  - {name: db-net}
subnets:
  - {name: public-sub, project: admin, network: public, cidr: 203.0.113.0/24, enable_dhcp: false}
  - {name: web-sub, network: web-net, cidr: 10.0.1.0/24}
  - {name: db-sub, network: db-net, cidr: 10.0.2.0/24}
routers:
  - {name: edge, external_gateway_info: {network: public}, interfaces: [web-sub, db-sub]}
security_groups:
  - name: web
    rules:
      - {direction: ingress, protocol: tcp, port_range_min: 80, port_range_max: 80, remote_ip_prefix: 0.0.0.0/0}
  - name: db
    rules:
      - {direction: ingress, protocol: tcp, port_range_min: 5432, port_range_max: 5432, remote_group: web}
servers:
  - {name: web-1, network: web-net, security_groups: [web], floating_ip: public, tags: [web]}
  - {name: db-1, network: db-net, security_groups: [db], tags: [db]}
"""

