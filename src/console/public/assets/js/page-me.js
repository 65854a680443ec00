import { h, mount } from './dom.js';

/** What the signed-in person holds, as the policy decides it. */
export function render(container, { me }) {
  mount(
    container,
    h('h1', {}, 'My access'),
    h('p', {}, `Signed in as ${me.subject} (${me.type}) in ${me.tenant ?? 'no tenant'}.`),
    h('h2', {}, 'Roles'),
    h('ul', { 'data-testid': 'my-roles' }, me.roles.length ? me.roles.map((r) => h('li', {}, r)) : h('li', {}, 'none')),
    h('h2', {}, 'Permissions'),
    h(
      'ul',
      { 'data-testid': 'my-permissions' },
      me.permissions.length ? me.permissions.map((p) => h('li', {}, h('code', {}, p))) : h('li', {}, 'none'),
    ),
  );
}
