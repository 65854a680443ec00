import { api } from './api.js';
import { errorBox, h, mount } from './dom.js';

/** Text of a cell's grant path: which rule grants each permission, or what is missing. */
function grantPath(row, column, cell) {
  if (row.policy === 'public') return 'Public route: no token needed.';
  if (row.policy === 'authenticated') return 'Any valid token.';
  if (row.policy === 'none') return 'No policy: refused to everyone.';
  const lines = cell.grants.map(
    (g) =>
      `${g.permission} ← ${g.role ? `role ${g.role}` : `scope ${g.scope}`}${g.via ? ` (${g.via})` : ''}: pattern ${g.pattern}`,
  );
  if (cell.missing.length) lines.push(`Not granted by ${column}: ${cell.missing.join(', ')}`);
  return lines.join('\n');
}

/** Routes x roles (or scopes) from the inventory and the policy; a cell opens its grant path. */
export function render(container, { params }) {
  const state = {
    map: null,
    filter: params.get('q') ?? '',
    app: params.get('app') ?? '',
    axis: params.get('axis') ?? 'roles',
    selected: null,
  };
  const table = h('div', { class: 'scroll' });
  const detail = h('pre', { class: 'detail', 'data-testid': 'grant-path' }, 'Click a cell to see its grant path.');
  const appSelect = h('select', { 'aria-label': 'App', onchange: (e) => ((state.app = e.target.value), draw()) });
  const axisSelect = h(
    'select',
    { 'aria-label': 'Columns', onchange: (e) => ((state.axis = e.target.value), draw()) },
    h('option', { value: 'roles' }, 'Roles (people)'),
    h('option', { value: 'scopes' }, 'Scopes (machines)'),
  );
  const filter = h('input', {
    type: 'search',
    placeholder: 'Filter: path or permission',
    value: state.filter,
    'aria-label': 'Filter',
    oninput: (e) => ((state.filter = e.target.value.toLowerCase()), draw()),
  });
  mount(
    container,
    h('h1', {}, 'Access map'),
    h(
      'p',
      { class: 'muted' },
      'Who may call what: every route of the inventory against every role and scope of the policy.',
    ),
    h('div', { class: 'toolbar' }, filter, appSelect, axisSelect),
    table,
    detail,
  );

  function draw() {
    const { map } = state;
    const columns = state.axis === 'roles' ? map.roles.map((r) => r.name) : map.scopes.map((s) => s.name);
    const rows = map.routes.filter(
      (r) =>
        (!state.app || r.app === state.app) &&
        (!state.filter || `${r.method} ${r.path} ${r.permissions.join(' ')}`.toLowerCase().includes(state.filter)),
    );
    mount(
      table,
      h(
        'table',
        { class: 'matrix', 'data-testid': 'access-map' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Route'),
            h('th', {}, 'Requires'),
            columns.map((c) => h('th', { class: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          {},
          rows.map((row) =>
            h(
              'tr',
              {},
              h('td', {}, h('code', {}, `${row.method} ${row.path}`)),
              h('td', { class: 'small' }, row.policy === 'permissions' ? row.permissions.join(', ') : row.policy),
              columns.map((column) => {
                const cell = row[state.axis][column];
                const text = grantPath(row, column, cell);
                return h(
                  'td',
                  {
                    class: `cell ${cell.allowed ? 'allow' : 'deny'}`,
                    title: text,
                    'data-route': `${row.method} ${row.path}`,
                    'data-column': column,
                  },
                  h(
                    'button',
                    {
                      type: 'button',
                      'aria-label': `${column} on ${row.method} ${row.path}: ${cell.allowed ? 'allowed' : 'refused'}`,
                      onclick: () =>
                        mount(
                          detail,
                          `${row.method} ${row.path} for ${column}: ${cell.allowed ? 'ALLOWED' : 'REFUSED'}\n${text}`,
                        ),
                    },
                    cell.allowed ? '✓' : '·',
                  ),
                );
              }),
            ),
          ),
        ),
      ),
    );
  }

  api('/platform/access-map')
    .then((map) => {
      state.map = map;
      mount(
        appSelect,
        h('option', { value: '' }, 'All apps'),
        [...new Set(map.routes.map((r) => r.app))].map((a) => h('option', { value: a, selected: a === state.app }, a)),
      );
      axisSelect.value = state.axis;
      draw();
    })
    .catch((err) => mount(table, errorBox(err)));
}
