import { api, query } from './api.js';
import { errorBox, h, mount } from './dom.js';

const FIELDS = [
  ['subject', 'Subject (user name or client id)', true],
  ['permission', 'Permission, e.g. billing:invoices:read', true],
  ['roles', "Token roles (comma-separated; the identity provider's, not stored by the platform)", false],
  ['actor', 'Acting agent client id (delegation)', false],
];

/** Roles of the policy whose grants cover `permission`, read from the access map (the same permission as Explain). */
async function rolesGranting(permission) {
  const map = await api('/platform/access-map');
  const roles = new Set();
  for (const route of map.routes) {
    for (const [role, cell] of Object.entries(route.roles))
      if (cell.grants.some((g) => g.permission === permission)) roles.add(role);
  }
  return [...roles].sort();
}

/** Why would subject X be allowed or refused permission P: the policy's answer and the deciding rule. */
export function render(container, { params, navigate }) {
  const result = h('div', { 'data-testid': 'explain-result' });
  const inputs = FIELDS.map(([name, label, required]) =>
    h('label', {}, label, h('input', { name, value: params.get(name) ?? '', required, size: 40 })),
  );
  const type = h(
    'select',
    { name: 'type' },
    ['user', 'service'].map((t) => h('option', { value: t, selected: t === (params.get('type') ?? 'user') }, t)),
  );
  const submit = (e) => {
    e.preventDefault();
    const values = Object.fromEntries(
      [...inputs.map((l) => l.querySelector('input')), type].map((i) => [i.name, i.value.trim()]),
    );
    navigate('explain', Object.fromEntries(Object.entries(values).filter(([, v]) => v)));
  };
  mount(
    container,
    h('h1', {}, 'Explain'),
    h(
      'form',
      { class: 'stack', onsubmit: submit },
      inputs,
      h('label', {}, 'Principal type ', type),
      h('button', { type: 'submit', class: 'primary' }, 'Explain'),
    ),
    result,
  );
  if (!params.get('subject') || !params.get('permission')) return;

  const fixes = h('span', { 'data-testid': 'roles-granting' });
  const ask = {
    subject: params.get('subject'),
    permission: params.get('permission'),
    roles: params.get('roles'),
    actor: params.get('actor'),
    type: params.get('type'),
  };
  api(`/platform/authz/explain${query(ask)}`)
    .then((x) => {
      const rule = x.grantedBy.length
        ? x.grantedBy.map(
            (g) =>
              `${g.role ? `role ${g.role}` : `scope ${g.scope}`}${g.source ? ` (${g.source.source}${g.source.from ? ` from ${g.source.from}` : ''})` : ''} grants it by the pattern ${g.pattern}`,
          )
        : [
            `No ${x.roles.length || x.boundRoles.length ? 'role it holds' : 'role or scope'} grants ${x.permission}: deny by default.`,
          ];
      mount(
        result,
        h(
          'p',
          { class: `verdict ${x.decision}`, 'data-testid': 'verdict' },
          `${x.subject} in ${x.tenant}: ${x.decision.toUpperCase()} ${x.permission} (${x.reason})`,
        ),
        h('h2', {}, 'Deciding rule'),
        h(
          'ul',
          {},
          rule.map((line) => h('li', {}, line)),
        ),
        h('h2', {}, 'Roles considered'),
        h(
          'ul',
          {},
          x.roles.length
            ? x.roles.map((r) => h('li', {}, `${r.role} (${r.source}${r.from ? ` from ${r.from}` : ''})`))
            : h('li', {}, 'none'),
        ),
        h(
          'p',
          {},
          `Bound in the platform: ${x.boundRoles.join(', ') || 'none'}. From the token: ${x.tokenRoles.join(', ') || 'none given'}.`,
        ),
        x.actor
          ? h(
              'p',
              {},
              `Agent ${x.actor}: ${x.actorGrantedBy.length ? x.actorGrantedBy.map((g) => `scope ${g.scope}`).join(', ') : 'no scope of its grants it'}.`,
            )
          : null,
        x.decision === 'deny' && x.reason === 'insufficient_permission'
          ? h(
              'p',
              {},
              'To fix: grant a role that holds it in ',
              h('a', { href: `#/people?subject=${encodeURIComponent(x.subject)}` }, 'People and machines'),
              ', or change the policy.',
              fixes,
            )
          : null,
      );
      if (x.decision === 'deny' && x.reason === 'insufficient_permission')
        void rolesGranting(x.permission).then((roles) =>
          mount(fixes, ` Roles that grant ${x.permission}: ${roles.join(', ') || 'none'}.`),
        );
    })
    .catch((err) => mount(result, errorBox(err)));
}
