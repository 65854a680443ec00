import { api, query } from './api.js';
import { colorOf, lineChart, sparkline } from './chart.js';
import { errorBox, h, mount, when } from './dom.js';

const DIMENSIONS = {
  route: 'Route',
  reason: 'Reason',
  permission: 'Permission',
  principalType: 'Principal type',
  app: 'App',
  subject: 'Subject',
};
const WINDOWS = { '1h': 3600e3, '24h': 24 * 3600e3, '7d': 7 * 24 * 3600e3 };

/** The permission an audit record was refused, for Explain (the first one its route requires). */
const permissionOf = (record) => record.details?.missing?.[0] ?? record.requiredPermissions?.[0];

/** Denials over time, grouped; rising groups first; a group opens its records. */
export function render(container, { params, navigate }) {
  const state = { groupBy: params.get('groupBy') ?? 'route', window: params.get('window') ?? '24h' };
  const body = h('div', {});
  const records = h('div', { 'data-testid': 'refusal-records' });
  const select = (label, options, key) =>
    h(
      'label',
      {},
      `${label} `,
      h(
        'select',
        { onchange: (e) => ((state[key] = e.target.value), load()) },
        Object.entries(options).map(([value, text]) =>
          h('option', { value, selected: value === state[key] }, typeof text === 'number' ? value : text),
        ),
      ),
    );
  mount(
    container,
    h('h1', {}, 'Refusals'),
    h(
      'p',
      { class: 'muted' },
      'Permission refusals (403 and 401 decisions) of the audit trail, rising first: the later half of the window against the earlier half.',
    ),
    h('div', { class: 'toolbar' }, select('Group by', DIMENSIONS, 'groupBy'), select('Window', WINDOWS, 'window')),
    body,
    records,
  );

  async function openGroup(group, range) {
    mount(records, h('p', { class: 'muted' }, 'Loading records…'));
    try {
      const { items } = await api(
        `/platform/audit/refusals/records${query({ groupBy: state.groupBy, key: group.key, ...range })}`,
      );
      mount(
        records,
        h('h2', {}, `Records: ${DIMENSIONS[state.groupBy]} = ${group.key || '(none)'}`),
        h(
          'table',
          { class: 'list' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Time', 'Subject', 'Type', 'Route', 'Reason', 'Status', ''].map((t) => h('th', {}, t)),
            ),
          ),
          h(
            'tbody',
            {},
            items.map((r) =>
              h(
                'tr',
                { 'data-subject': r.subject ?? '' },
                h('td', {}, h('a', { href: `#/audit?record=${r.id}` }, when(r.occurredAt))),
                h('td', {}, r.subject ?? '—'),
                h('td', {}, r.principalType ?? '—'),
                h('td', {}, h('code', {}, `${r.method} ${r.route ?? r.path}`)),
                h('td', {}, r.reason ?? '—'),
                h('td', {}, r.status),
                h(
                  'td',
                  {},
                  r.subject && permissionOf(r)
                    ? h(
                        'button',
                        {
                          type: 'button',
                          onclick: () =>
                            navigate('explain', {
                              subject: r.subject,
                              permission: permissionOf(r),
                              ...(r.principalType === 'service' && { type: 'service' }),
                              ...(r.actors?.[0] && { actor: r.actors[0].subject }),
                            }),
                        },
                        'Explain',
                      )
                    : null,
                ),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      mount(records, errorBox(err));
    }
  }

  async function load() {
    mount(records);
    const to = new Date();
    const range = { from: new Date(to.getTime() - WINDOWS[state.window]).toISOString(), to: to.toISOString() };
    try {
      const view = await api(`/platform/audit/refusals${query({ groupBy: state.groupBy, buckets: 24, ...range })}`);
      if (view.groups.length === 0)
        return mount(body, h('p', { 'data-testid': 'no-refusals' }, 'No refusals in this window.'));
      const top = view.groups.slice(0, 6);
      mount(
        body,
        lineChart(
          top.map((g) => ({ label: g.key || '(none)', values: g.series })),
          [when(view.from), when(view.to)],
        ),
        h(
          'table',
          { class: 'list', 'data-testid': 'refusal-groups' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              [DIMENSIONS[state.groupBy], 'Refusals', 'Rise', 'Trend'].map((t) => h('th', {}, t)),
            ),
          ),
          h(
            'tbody',
            {},
            view.groups.map((g, i) =>
              h(
                'tr',
                { class: 'clickable', 'data-key': g.key, onclick: () => openGroup(g, range) },
                h(
                  'td',
                  {},
                  h('span', { class: 'swatch', 'data-color': i < 6 ? i : 'none' }),
                  h('code', {}, g.key || '(none)'),
                ),
                h('td', {}, g.total),
                h(
                  'td',
                  { class: g.rise > 0 ? 'rising' : '' },
                  g.rise > 0 ? `▲ ${g.rise}` : g.rise < 0 ? `▼ ${-g.rise}` : '=',
                ),
                h('td', {}, sparkline(g.series, i < 6 ? colorOf(i) : '#888')),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      mount(body, errorBox(err));
    }
  }

  void load();
}
