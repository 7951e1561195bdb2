//! The templates of the stack tests: a small cluster in Magnum's shape (load
//! balancer, network, security group, a ResourceGroup of nodes with ports,
//! floating IPs, volumes and pool members), in the local cloud. The nodes have
//! no servers: booting real nodes is the end-to-end tests' business, and these
//! tests are about the Heat client.

use std::collections::BTreeMap;

use magnum_common::openstack::heat::StackCreate;
use serde_json::{Map, json};

const CLUSTER: &str = r#"
heat_template_version: queens
description: a small cluster in Magnum's shape
parameters:
  node_count: {type: number, default: 2, constraints: [{range: {min: 0, max: 20}}]}
  nodes_to_remove: {type: comma_delimited_list, default: []}
resources:
  secgroup:
    type: OS::Neutron::SecurityGroup
    properties:
      rules: [{protocol: tcp, port_range_min: 6443, port_range_max: 6443}]
  secgroup_rule:
    type: OS::Neutron::SecurityGroupRule
    properties: {security_group: {get_resource: secgroup}, protocol: tcp, port_range_min: 22, port_range_max: 22}
  network:
    type: network.yaml
  api_lb:
    type: OS::Octavia::LoadBalancer
    properties: {vip_subnet: {get_attr: [network, fixed_subnet]}}
  listener:
    type: OS::Octavia::Listener
    properties: {loadbalancer: {get_resource: api_lb}, protocol: TCP, protocol_port: 6443}
  pool:
    type: OS::Octavia::Pool
    properties: {listener: {get_resource: listener}, lb_algorithm: ROUND_ROBIN, protocol: TCP}
  monitor:
    type: OS::Octavia::HealthMonitor
    properties: {pool: {get_resource: pool}, type: TCP, delay: 5, max_retries: 5, timeout: 5}
  api_fip:
    type: OS::Neutron::FloatingIP
    properties: {floating_network: public, port_id: {get_attr: [api_lb, vip_port_id]}}
  nodes:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: node_count}
      removal_policies: [{resource_list: {get_param: nodes_to_remove}}]
      resource_def:
        type: node.yaml
        properties:
          name: {list_join: ['-', ['node', '%index%']]}
          secgroup: {get_resource: secgroup}
          network: {get_attr: [network, fixed_network]}
          pool: {get_resource: pool}
outputs:
  api_address: {value: {get_attr: [api_lb, vip_address]}}
  api_port_id: {value: {get_attr: [api_lb, vip_port_id]}}
  api_floating_address: {value: {get_attr: [api_fip, floating_ip_address]}}
  node_ips: {value: {get_attr: [nodes, node_ip]}}
  node_external_ips: {value: {get_attr: [nodes, node_external_ip]}}
  node_fixed_ips: {value: {get_attr: [nodes, fixed_ips]}}
  first_node_ip: {value: {get_attr: [nodes, resource.0.node_ip]}}
  fixed_network: {value: {get_attr: [network, fixed_network]}}
  fixed_subnet_cidr: {value: {get_attr: [network, fixed_subnet_cidr]}}
  secgroup_id: {value: {get_attr: [secgroup, show, id]}}
"#;

const NETWORK: &str = r#"
heat_template_version: queens
resources:
  private_network:
    type: OS::Neutron::Net
    properties: {name: private}
  private_subnet:
    type: OS::Neutron::Subnet
    properties: {cidr: 10.0.0.0/24, network: {get_resource: private_network}}
  router:
    type: OS::Neutron::Router
    properties: {external_gateway_info: {network: public}}
  router_interface:
    type: OS::Neutron::RouterInterface
    properties: {router_id: {get_resource: router}, subnet: {get_resource: private_subnet}}
outputs:
  fixed_network: {value: {get_resource: private_network}}
  fixed_subnet: {value: {get_resource: private_subnet}}
  fixed_subnet_cidr: {value: {get_attr: [private_subnet, cidr]}}
"#;

const NODE: &str = r##"
heat_template_version: queens
parameters:
  name: {type: string}
  secgroup: {type: string}
  network: {type: string}
  pool: {type: string}
resources:
  port:
    type: OS::Neutron::Port
    properties:
      name: {get_param: name}
      network: {get_param: network}
      security_groups: [{get_param: secgroup}]
  floating:
    type: OS::Neutron::FloatingIP
    properties: {floating_network: public, port_id: {get_resource: port}}
  volume:
    type: OS::Cinder::Volume
    properties: {size: 1}
  member:
    type: OS::Octavia::PoolMember
    properties: {pool: {get_param: pool}, address: {get_attr: [port, fixed_ips, 0, ip_address]}, protocol_port: 6443}
outputs:
  node_ip: {value: {get_attr: [port, fixed_ips, 0, ip_address]}}
  node_external_ip: {value: {get_attr: [floating, floating_ip_address]}}
  fixed_ips: {value: {get_attr: [port, fixed_ips]}}
  OS::stack_id: {value: {get_resource: port}}
"##;

/// A create request for the cluster template with `nodes` nodes.
pub fn cluster(name: &str, nodes: u32) -> StackCreate {
    let mut parameters = Map::new();
    parameters.insert("node_count".to_owned(), json!(nodes));
    StackCreate {
        name: name.to_owned(),
        template: CLUSTER.to_owned(),
        files: BTreeMap::from([
            ("network.yaml".to_owned(), NETWORK.to_owned()),
            ("node.yaml".to_owned(), NODE.to_owned()),
        ]),
        parameters,
        timeout_mins: Some(10),
        tags: Some("magnum-test,heat-client".to_owned()),
        ..Default::default()
    }
}
