#!/bin/bash
# atomic-boot.sh - first-boot script of Fedora Atomic nodes (cloud-init user data).
#
# Trusts the OpenStack CA, sets the SELinux mode and the proxies, then starts
# heat-container-agent, which polls Heat for this server's software
# deployments (user_data_format SOFTWARE_CONFIG, POLL_SERVER_HEAT) and signals
# their results back. Placeholders (@@NAME@@) are filled in by the template's
# str_replace.
set -euo pipefail

openstack_ca='@@OPENSTACK_CA@@'
if [ -n "$openstack_ca" ]; then
  printf '%s\n' "$openstack_ca" >/etc/pki/ca-trust/source/anchors/openstack-ca.pem
  update-ca-trust extract
fi

selinux_mode='@@SELINUX_MODE@@'
if [ -n "$selinux_mode" ] && [ -w /etc/selinux/config ]; then
  sed -i "s/^SELINUX=.*/SELINUX=$selinux_mode/" /etc/selinux/config
  case $selinux_mode in
    enforcing) setenforce 1 || true ;;
    permissive | disabled) setenforce 0 || true ;;
  esac
fi

cat >/etc/sysconfig/heat-container-agent <<'AGENT_ENV'
HTTP_PROXY=@@HTTP_PROXY@@
HTTPS_PROXY=@@HTTPS_PROXY@@
NO_PROXY=@@NO_PROXY@@
http_proxy=@@HTTP_PROXY@@
https_proxy=@@HTTPS_PROXY@@
no_proxy=@@NO_PROXY@@
AGENT_ENV

prefix='@@CONTAINER_INFRA_PREFIX@@'
image="${prefix:-docker.io/openstackmagnum/}heat-container-agent:@@HEAT_CONTAINER_AGENT_TAG@@"
runtime=docker
if [ "@@USE_PODMAN@@" = "true" ] || [ "@@USE_PODMAN@@" = "True" ]; then runtime=podman; fi

cat >/etc/systemd/system/heat-container-agent.service <<UNIT
[Unit]
Description=Run heat-container-agent (applies Heat software deployments)
After=network-online.target $runtime.service
Wants=network-online.target

[Service]
EnvironmentFile=-/etc/sysconfig/heat-container-agent
ExecStartPre=-/usr/bin/$runtime rm -f heat-container-agent
ExecStart=/usr/bin/$runtime run --name heat-container-agent --privileged --net=host \\
  --env-file /etc/sysconfig/heat-container-agent \\
  -v /srv/magnum:/srv/magnum -v /opt/stack/os-config-refresh:/opt/stack/os-config-refresh \\
  -v /run/systemd:/run/systemd -v /etc/:/etc/ -v /var/lib:/var/lib -v /var/run:/var/run \\
  -v /var/log:/var/log -v /tmp:/tmp -v /dev:/dev $image /usr/bin/start-heat-container-agent
ExecStop=/usr/bin/$runtime stop heat-container-agent
Restart=on-failure
TimeoutStartSec=10min

[Install]
WantedBy=multi-user.target
UNIT

systemctl daemon-reload
systemctl enable --now --no-block heat-container-agent.service
