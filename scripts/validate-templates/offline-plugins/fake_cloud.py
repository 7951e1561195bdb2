"""Heat resource plugin of the template gate (scripts/validate-templates.sh --create), which runs
Heat's engine with no cloud at all: offline stand-ins for cloud resources that keep the REAL
property and attribute schemas (templates are validated as against a cloud) but call no service and
return plausible values. ../offline_cloud.yaml maps the real types onto them. The local stack and
the tests do not use these: their Heat drives the local cloud (magnum-cloud-standin) with its own
real resource types.

  Fake::Nova::Server            networks, addresses, first_address, name, instance_name, show, ...
  Fake::Neutron::Port           fixed_ips [{ip_address, subnet_id}], mac_address, network_id, ...
  Fake::Neutron::FloatingIP     floating_ip_address, fixed_ip_address, port_id
  Fake::Neutron::Net            name, status, subnets, mtu, ...
  Fake::Neutron::Subnet         cidr, gateway_ip, allocation_pools, network_id, ...
  Fake::Neutron::SecurityGroup  show (with id: `GET .../resources/NAME` attributes.id)
  Fake::Octavia::LoadBalancer   vip_address, vip_port_id, vip_subnet_id (also stands in for the
                                hidden OS::Neutron::LBaaS::LoadBalancer, whose properties it covers)
  Fake::Heat::WaitConditionHandle  token, endpoint, curl_cli, signal (nothing ever waits on it:
                                OS::Heat::WaitCondition is mapped to OS::Heat::None)

Heat imports every *.py in a plugin dir: keep this directory for plugins only.

Addresses derive from the resource's row id in Heat's `resource` table, unique across every stack of
the database, so they are distinct and stable (a replaced resource gets a new row, so a new address):
fixed 10.0.x.y, floating 127.24.x.y on loopback (FAKE_CLOUD_FLOATING_PREFIX replaces 127.24), x.y = id // 254 % 254, id % 254 + 1 (unique for 64516 rows).
A server whose `networks` entry names a `port` reports that port's address (looked up by physical id).
Addresses given in properties (fixed_ips.ip_address, floating_ip_address, vip_address) are honoured.
"""
import ipaddress
import json
import os

from oslo_utils import uuidutils

from heat.db import api as db_api
from heat.engine import resource
from heat.engine.resources.openstack.heat import wait_condition_handle as real_wch
from heat.engine.resources.openstack.neutron import floatingip as real_fip
from heat.engine.resources.openstack.neutron import net as real_net
from heat.engine.resources.openstack.neutron import port as real_port
from heat.engine.resources.openstack.neutron import security_group as real_sg
from heat.engine.resources.openstack.neutron import subnet as real_subnet
from heat.engine.resources.openstack.nova import server as real_server
from heat.engine.resources.openstack.octavia import loadbalancer as real_lb
from heat.objects import resource as resource_objects


FLOATING_PREFIX = os.environ.get('FAKE_CLOUD_FLOATING_PREFIX') or '127.24'


def _addr(prefix, n):
    return '%s.%d.%d' % (prefix, (n // 254) % 254, n % 254 + 1)


def _mac(n):
    return 'fa:16:3e:%02x:%02x:%02x' % ((n >> 16) & 255, (n >> 8) & 255, n & 255)


class _Fake(resource.Resource):
    """Common part: subclasses copy the real type's schemas; no translation rules (no name->id
    look-ups), no client, no validate() beyond the property schema."""
    default_client_name = None
    entity = None

    def _info(self):
        raw = self.data().get('fake')
        return json.loads(raw) if raw else {}

    def _store(self):
        self.data_set('fake', json.dumps(self.describe()), redact=False)

    def describe(self):
        raise NotImplementedError

    def handle_create(self):
        self.resource_id_set(uuidutils.generate_uuid())
        self._store()

    def handle_update(self, json_snippet, tmpl_diff, prop_diff):
        # properties the real type cannot update in place never get here: Heat replaces the resource
        if prop_diff:
            self.properties = json_snippet.properties(self.properties_schema, self.context)
            self._store()

    def handle_delete(self):
        return None

    def _resolve_attribute(self, name):
        return self._info().get(name)

    def _show_resource(self):
        return dict(self._info(), id=self.resource_id)

    def _port_info(self, port_id):
        """The stored description of a Fake::Neutron::Port by physical id (any stack), or {}."""
        if not port_id:
            return {}
        for r in resource_objects.Resource.get_all_by_physical_resource_id(self.context, port_id):
            raw = db_api.resource_data_get_all(self.context, r.id).get('fake')
            if raw:
                return json.loads(raw)
        return {}


class FakePort(_Fake):
    properties_schema = dict(real_port.Port.properties_schema)
    attributes_schema = dict(real_port.Port.attributes_schema)

    def describe(self):
        p = self.properties
        fixed = [dict(f) for f in (p.get('fixed_ips') or [])]
        want = next((f.get('ip_address') for f in fixed if f.get('ip_address')), None)
        subnet = next((f.get('subnet') or f.get('subnet_id') for f in fixed
                       if f.get('subnet') or f.get('subnet_id')), None)
        ip = want or _addr('10.0', self.id)
        net = p.get('network') or p.get('network_id')
        return {'fixed_ips': [{'ip_address': ip, 'subnet_id': subnet or uuidutils.generate_uuid()}],
                'mac_address': p.get('mac_address') or _mac(self.id), 'network_id': net, 'network': {'id': net},
                'name': p.get('name') or self.physical_resource_name(), 'status': 'ACTIVE',
                'admin_state_up': True, 'device_id': '', 'device_owner': '',
                'security_groups': list(p.get('security_groups') or []),
                'allowed_address_pairs': list(p.get('allowed_address_pairs') or []),
                'port_security_enabled': True, 'tenant_id': self.stack.context.project_id, 'subnets': [],
                'dns_assignment': [], 'qos_policy_id': None, 'propagate_uplink_status': False}


class FakeServer(_Fake):
    properties_schema = dict(real_server.Server.properties_schema)
    attributes_schema = dict(real_server.Server.attributes_schema)
    def describe(self):
        p = self.properties
        addresses, networks = {}, {}
        for i, nic in enumerate(p.get('networks') or [{'network': 'private'}]):
            port = self._port_info(nic.get('port'))
            if port:
                net = port['network_id'] or 'private'
                ip, mac = port['fixed_ips'][0]['ip_address'], port['mac_address']
            else:
                net = nic.get('network') or nic.get('uuid') or 'private'
                ip = nic.get('fixed_ip') or _addr('10.%d' % i, self.id)
                mac = _mac(self.id * 8 + i)
            addresses.setdefault(net, []).append({'addr': ip, 'version': 4, 'OS-EXT-IPS:type': 'fixed',
                                                  'OS-EXT-IPS-MAC:mac_addr': mac, 'port': nic.get('port')})
            networks.setdefault(net, []).append(ip)
        first = next(iter(networks.values()))[0]
        return {'addresses': addresses, 'networks': networks, 'first_address': first,
                'name': p.get('name') or self.physical_resource_name(),
                'instance_name': 'instance-%08x' % self.id, 'accessIPv4': '', 'accessIPv6': '',
                'console_urls': {}, 'os_collect_config': {}, 'tags': list(p.get('tags') or []),
                'flavor': p.get('flavor'), 'image': p.get('image'), 'status': 'ACTIVE'}


class FakeFloatingIP(_Fake):
    properties_schema = dict(real_fip.FloatingIP.properties_schema)
    attributes_schema = dict(real_fip.FloatingIP.attributes_schema)

    def describe(self):
        p = self.properties
        port = self._port_info(p.get('port_id'))
        return {'floating_ip_address': p.get('floating_ip_address') or _addr(FLOATING_PREFIX, self.id),
                'fixed_ip_address': p.get('fixed_ip_address') or (
                    port['fixed_ips'][0]['ip_address'] if port else None),
                'port_id': p.get('port_id'), 'floating_network_id': p.get('floating_network'),
                'router_id': None, 'tenant_id': self.stack.context.project_id}


class FakeNet(_Fake):
    properties_schema = dict(real_net.Net.properties_schema)
    attributes_schema = dict(real_net.Net.attributes_schema)

    def describe(self):
        p = self.properties
        return {'name': p.get('name') or self.physical_resource_name(), 'status': 'ACTIVE', 'subnets': [],
                'admin_state_up': True, 'tenant_id': self.stack.context.project_id,
                'port_security_enabled': True, 'mtu': 1450, 'qos_policy_id': None, 'l2_adjacency': True,
                'segments': []}


class FakeSubnet(_Fake):
    properties_schema = dict(real_subnet.Subnet.properties_schema)
    attributes_schema = dict(real_subnet.Subnet.attributes_schema)

    def describe(self):
        p = self.properties
        cidr = p.get('cidr') or '10.0.0.0/24'
        try:
            hosts = list(ipaddress.ip_network(cidr, strict=False).hosts())
            gateway, pool = str(hosts[0]), [{'start': str(hosts[1]), 'end': str(hosts[-1])}]
        except (ValueError, IndexError):
            gateway, pool = None, []
        return {'name': p.get('name') or self.physical_resource_name(),
                'network_id': p.get('network') or p.get('network_id'),
                'tenant_id': self.stack.context.project_id, 'cidr': cidr,
                'gateway_ip': p.get('gateway_ip') or gateway,
                'allocation_pools': list(p.get('allocation_pools') or pool),
                'host_routes': list(p.get('host_routes') or []), 'ip_version': p.get('ip_version') or 4,
                'dns_nameservers': list(p.get('dns_nameservers') or []),
                'enable_dhcp': p.get('enable_dhcp', True)}


class FakeSecurityGroup(_Fake):
    properties_schema = dict(real_sg.SecurityGroup.properties_schema)
    attributes_schema = dict(real_sg.SecurityGroup.attributes_schema)

    def describe(self):
        p = self.properties
        return {'name': p.get('name') or self.physical_resource_name(),
                'description': p.get('description') or '',
                'security_group_rules': [dict(r) for r in (p.get('rules') or [])],
                'tenant_id': self.stack.context.project_id}


class FakeLoadBalancer(_Fake):
    properties_schema = dict(real_lb.LoadBalancer.properties_schema)
    attributes_schema = dict(real_lb.LoadBalancer.attributes_schema)

    def describe(self):
        p = self.properties
        return {'vip_address': p.get('vip_address') or _addr('10.0', self.id),
                'vip_port_id': uuidutils.generate_uuid(), 'vip_subnet_id': p.get('vip_subnet'),
                'pools': [], 'flavor_id': p.get('flavor'), 'provisioning_status': 'ACTIVE',
                'operating_status': 'ONLINE'}


class FakeWaitConditionHandle(_Fake):
    properties_schema = dict(real_wch.HeatWaitConditionHandle.properties_schema)
    attributes_schema = dict(real_wch.HeatWaitConditionHandle.attributes_schema)

    def describe(self):
        endpoint = 'http://127.0.0.1/v1/%s/stacks/%s/%s/resources/%s/signal' % (
            self.stack.context.project_id, self.stack.name, self.stack.id, self.name)
        token = 'fake-wait-condition-token'
        return {'token': token, 'endpoint': endpoint,
                'curl_cli': ("curl -i -X POST -H 'X-Auth-Token: %s' -H 'Content-Type: application/json' "
                             "-H 'Accept: application/json' %s" % (token, endpoint)),
                'signal': json.dumps({'endpoint': endpoint, 'token': token})}


def resource_mapping():
    return {'Fake::Nova::Server': FakeServer, 'Fake::Neutron::Port': FakePort,
            'Fake::Neutron::FloatingIP': FakeFloatingIP, 'Fake::Neutron::Net': FakeNet,
            'Fake::Neutron::Subnet': FakeSubnet, 'Fake::Neutron::SecurityGroup': FakeSecurityGroup,
            'Fake::Octavia::LoadBalancer': FakeLoadBalancer,
            'Fake::Heat::WaitConditionHandle': FakeWaitConditionHandle}
