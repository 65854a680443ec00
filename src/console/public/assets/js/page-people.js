import { api, query } from './api.js';
import { errorBox, h, mount } from './dom.js';

/** Every page of a listing (users, service accounts), following nextCursor. */
async function all(path) {
  const items = [];
  let cursor;
  do {
    const page = await api(`${path}${query({ limit: 100, cursor })}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

/**
 * Users with their role bindings and status, service accounts with their scopes; every change
 * goes through the user-management API (which checks and audits it).
 */
export function render(container, { me, params }) {
  const notice = h('div', { 'aria-live': 'polite' });
  const users = h('div', { class: 'scroll' });
  const machines = h('div', { class: 'scroll' });
  mount(
    container,
    h('h1', {}, 'People and machines'),
    notice,
    h('h2', {}, 'People'),
    users,
    h('h2', {}, 'Service accounts'),
    machines,
  );
  const highlight = params.get('subject');
  const can = (p) => me.permissions.includes(p);

  const act = async (label, fn) => {
    try {
      await fn();
      mount(notice, h('p', { class: 'notice', 'data-testid': 'change-done' }, `${label}: done (audited).`));
    } catch (err) {
      mount(notice, errorBox(err));
    }
    await load();
  };

  function userRow(u) {
    const role = h(
      'select',
      { 'aria-label': `Role for ${u.subject}` },
      me.roles.filter((r) => !u.boundRoles.includes(r)).map((r) => h('option', { value: r }, r)),
    );
    return h(
      'tr',
      { 'data-subject': u.subject, class: u.subject === highlight ? 'highlight' : undefined },
      h('td', {}, u.subject, h('div', { class: 'muted small' }, u.name ?? '')),
      h('td', {}, u.type),
      h('td', { class: u.status }, u.status),
      h(
        'td',
        {},
        u.boundRoles.length
          ? u.boundRoles.map((r) =>
              h(
                'span',
                { class: 'chip' },
                r,
                can('users:roles:manage')
                  ? h(
                      'button',
                      {
                        type: 'button',
                        'aria-label': `Revoke ${r} from ${u.subject}`,
                        onclick: () =>
                          act(`Revoked ${r} from ${u.subject}`, () =>
                            api(`/users/${u.id}/roles/${encodeURIComponent(r)}`, { method: 'DELETE' }),
                          ),
                      },
                      '×',
                    )
                  : null,
              ),
            )
          : h('span', { class: 'muted' }, 'none (token roles only)'),
      ),
      h(
        'td',
        {},
        can('users:roles:manage') && role.childElementCount
          ? [
              role,
              h(
                'button',
                {
                  type: 'button',
                  'data-action': 'grant',
                  onclick: () =>
                    act(`Granted ${role.value} to ${u.subject}`, () =>
                      api(`/users/${u.id}/roles`, { method: 'POST', body: { role: role.value } }),
                    ),
                },
                'Grant',
              ),
            ]
          : null,
        can('users:users:manage')
          ? u.status === 'active'
            ? h(
                'button',
                {
                  type: 'button',
                  onclick: () =>
                    act(`Deactivated ${u.subject}`, () => api(`/users/${u.id}/deactivate`, { method: 'POST' })),
                },
                'Deactivate',
              )
            : h(
                'button',
                {
                  type: 'button',
                  onclick: () =>
                    act(`Reactivated ${u.subject}`, () => api(`/users/${u.id}/reactivate`, { method: 'POST' })),
                },
                'Reactivate',
              )
          : null,
      ),
    );
  }

  function machineRow(s) {
    const scopes = h('input', { value: s.scopes.join(' '), size: 40, 'aria-label': `Scopes of ${s.clientId}` });
    const manage = can('users:service-accounts:manage');
    return h(
      'tr',
      { 'data-client': s.clientId },
      h('td', {}, s.name, h('div', { class: 'muted small' }, s.clientId)),
      h('td', { class: s.status }, s.status),
      h('td', {}, manage ? scopes : s.scopes.join(' ')),
      h(
        'td',
        {},
        manage
          ? h(
              'button',
              {
                type: 'button',
                onclick: () =>
                  act(`Set the scopes of ${s.clientId}`, () =>
                    api(`/service-accounts/${s.id}/scopes`, {
                      method: 'POST',
                      body: { scopes: scopes.value.split(/\s+/).filter(Boolean) },
                    }),
                  ),
              },
              'Set scopes',
            )
          : null,
        manage
          ? h(
              'button',
              {
                type: 'button',
                onclick: () =>
                  act(`${s.status === 'active' ? 'Deactivated' : 'Reactivated'} ${s.clientId}`, () =>
                    api(`/service-accounts/${s.id}/${s.status === 'active' ? 'deactivate' : 'reactivate'}`, {
                      method: 'POST',
                    }),
                  ),
              },
              s.status === 'active' ? 'Deactivate' : 'Reactivate',
            )
          : null,
      ),
    );
  }

  async function load() {
    try {
      const list = await all('/users');
      mount(
        users,
        h(
          'table',
          { class: 'list', 'data-testid': 'users' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Subject', 'Type', 'Status', 'Bound roles', ''].map((t) => h('th', {}, t)),
            ),
          ),
          h('tbody', {}, list.map(userRow)),
        ),
      );
    } catch (err) {
      mount(users, errorBox(err));
    }
    if (!can('users:service-accounts:read'))
      return mount(machines, h('p', { class: 'muted' }, 'Your roles do not grant users:service-accounts:read.'));
    try {
      const list = await all('/service-accounts');
      mount(
        machines,
        h(
          'table',
          { class: 'list', 'data-testid': 'service-accounts' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Name', 'Status', 'Scopes', ''].map((t) => h('th', {}, t)),
            ),
          ),
          h('tbody', {}, list.map(machineRow)),
        ),
      );
    } catch (err) {
      mount(machines, errorBox(err));
    }
  }

  void load();
}
