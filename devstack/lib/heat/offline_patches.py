"""Monkeypatches that let Heat's engine validate/create stacks with no cloud behind it.
Each one skips a check that needs a live service; everything else (template parsing, intrinsic
functions, property schemas, nested templates, conditions, parameter constraints) stays Heat's own."""
def apply():
    from heat.engine import resource as hres, constraints
    # resource type availability is normally checked against the keystone catalog
    hres.Resource.is_service_available = classmethod(lambda cls, context: (True, None))
    # custom constraints (nova.flavor, glance.image, neutron.network, cinder.vtype, ...) look things up in the cloud
    constraints.CustomConstraint.validate = lambda self, value, schema=None, context=None, template=None: True
    # Server.validate compares image min_ram/min_disk with the flavor
    from heat.engine.resources.openstack.nova import server as nova_server
    nova_server.Server._validate_image_flavor = lambda self, image, flavor: None
    # microversion discovery (ServerGroup soft policies, Cinder, ...)
    from heat.engine.clients import microversion_mixin
    from heat.engine.clients.os import nova, cinder
    for cls in (microversion_mixin.MicroversionMixin, nova.NovaClientPlugin, cinder.CinderClientPlugin):
        cls.is_version_supported = lambda self, version: True


def poll_interval(seconds):
    """Heat steps a running task (a resource waiting for its nested stack, a check_*_complete)
    once a second; step every `seconds` instead. Timing only: every step is Heat's own."""
    from heat.engine import scheduler
    real_sleep = scheduler.TaskRunner._sleep

    def _sleep(self, wait_time):
        return real_sleep(self, None if wait_time is None else min(wait_time, seconds))
    scheduler.TaskRunner._sleep = _sleep
