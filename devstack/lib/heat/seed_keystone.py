"""What devstack/lib/heat.sh needs in Keystone, created idempotently (existing items are reused).

  user heat (domain Default, default project service): roles service and admin on project service
      (service: keystonemiddleware may validate tokens; the trustee of the trusts Heat creates)
  role heat_stack_user       Heat's heat_stack_user_role: given to users Heat creates for a stack
  domain heat + user heat_domain_admin (role admin on domain heat): Heat's stack_user_domain and
      stack_domain_admin, where stack users (signals, software deployments) are created

Heat's default policies need nothing else: project members (demo, alt_demo: role member) may create
and manage stacks in their project; heat_stack_owner is a legacy role the defaults do not check.
Environment: SEED_URL (Keystone v3 URL), SEED_PASSWORD (admin's and the new users' password),
SEED_PW_CHANGED=1 to reset the passwords of existing users. Prints KEY=VALUE lines (ids).
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

E = os.environ
URL, PW = E['SEED_URL'], E['SEED_PASSWORD']
PW_CHANGED = E.get('SEED_PW_CHANGED') == '1'
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
TOKEN = None
changes = []


def call(method, path, body=None):
    req = urllib.request.Request(URL + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header('Content-Type', 'application/json')
    req.add_header('Accept', 'application/json')
    if TOKEN:
        req.add_header('X-Auth-Token', TOKEN)
    try:
        with OPENER.open(req, timeout=30) as r:
            data = r.read()
            return r.headers, (json.loads(data) if data else None)
    except urllib.error.HTTPError as e:
        sys.exit('%s %s -> %s: %r' % (method, path, e.code, e.read()[:500]))


for attempt in range(5):
    try:
        hdrs, _ = call('POST', '/auth/tokens', {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': 'admin', 'domain': {'id': 'default'}, 'password': PW}}},
            'scope': {'system': {'all': True}}}})
        TOKEN = hdrs['X-Subject-Token']
        break
    except SystemExit:
        if attempt == 4:
            raise
        time.sleep(1)


def first(path, key, **match):
    items = call('GET', path)[1][key]
    return next((i for i in items if all(i.get(k) == v for k, v in match.items())), None)


def role(name):
    r = first('/roles?name=' + name, 'roles', name=name)
    if r is None:
        r = call('POST', '/roles', {'role': {'name': name}})[1]['role']
        changes.append('role ' + name)
    return r['id']


def domain(name, description):
    d = first('/domains?name=' + name, 'domains', name=name)
    if d is None:
        d = call('POST', '/domains', {'domain': {'name': name, 'description': description}})[1]['domain']
        changes.append('domain ' + name)
    elif not d['enabled']:
        call('PATCH', '/domains/' + d['id'], {'domain': {'enabled': True}})
        changes.append('enabled domain ' + name)
    return d['id']


def user(name, domain_id, project_id=None):
    u = first('/users?name=%s&domain_id=%s' % (name, domain_id), 'users', name=name)
    if u is None:
        body = {'name': name, 'password': PW, 'domain_id': domain_id, 'enabled': True}
        if project_id:
            body['default_project_id'] = project_id
        u = call('POST', '/users', {'user': body})[1]['user']
        changes.append('user ' + name)
        return u['id']
    patch = {}
    if not u.get('enabled', True):
        patch['enabled'] = True
    if PW_CHANGED:
        patch['password'] = PW
    if project_id and u.get('default_project_id') != project_id:
        patch['default_project_id'] = project_id
    if patch:
        call('PATCH', '/users/' + u['id'], {'user': patch})
        changes.append('updated user %s (%s)' % (name, ', '.join(sorted(patch))))
    return u['id']


def grant(user_id, role_id, project_id=None, domain_id=None):
    target = '/projects/%s' % project_id if project_id else '/domains/%s' % domain_id
    scope = 'scope.project.id=%s' % project_id if project_id else 'scope.domain.id=%s' % domain_id
    have = call('GET', '/role_assignments?user.id=%s&role.id=%s&%s' % (user_id, role_id, scope))[1]
    if not have['role_assignments']:
        call('PUT', '%s/users/%s/roles/%s' % (target, user_id, role_id))
        changes.append('grant')


service_p = first('/projects?name=service&domain_id=default', 'projects', name='service')
if service_p is None:
    sys.exit('project service not found: is this the Keystone of devstack/lib/keystone.sh?')
service_p = service_p['id']
r_service, r_admin = role('service'), role('admin')
role('heat_stack_user')
heat_u = user('heat', 'default', service_p)
grant(heat_u, r_service, project_id=service_p)
grant(heat_u, r_admin, project_id=service_p)
heat_d = domain('heat', 'Owns users and projects created by heat')
heat_da = user('heat_domain_admin', heat_d)
grant(heat_da, r_admin, domain_id=heat_d)

print('seed: ' + ('; '.join(changes) if changes else 'nothing to change'), file=sys.stderr)
print('HEAT_SERVICE_USER_ID=%s' % heat_u)
print('HEAT_STACK_DOMAIN_ID=%s' % heat_d)
print('HEAT_STACK_DOMAIN_ADMIN_ID=%s' % heat_da)
