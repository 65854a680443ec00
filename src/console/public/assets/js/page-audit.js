import { api, query } from './api.js';
import { errorBox, h, mount, when } from './dom.js';

const TAIL_INTERVAL_MS = 2000;
const FILTERS = ['decision', 'kind', 'subject', 'app', 'status', 'event', 'actor'];

/** One record in full: every field, its delegation chain, DPoP binding and chain status. */
async function showRecord(panel, id) {
  mount(panel, h('p', { class: 'muted' }, 'Loading record…'));
  try {
    const { record: r, chain } = await api(`/platform/audit/records/${encodeURIComponent(id)}`);
    const chainText = {
      verified: 'Verified: its hash matches its content and links to the record before it',
      broken: 'BROKEN: the record or its link does not match its hash',
      unchained: 'Not chained (older than the hash chain)',
    }[chain.status];
    const row = (label, value) => h('tr', {}, h('th', {}, label), h('td', {}, value ?? '—'));
    mount(
      panel,
      h('h2', {}, `Record ${r.id}`),
      h('p', { class: `chain ${chain.status}`, 'data-testid': 'chain-status' }, `Chain: ${chainText}`),
      h(
        'table',
        { class: 'kv', 'data-testid': 'record-detail' },
        row('Time', when(r.occurredAt)),
        row('Kind', r.kind === 'event' ? `event ${r.event}` : 'access'),
        row('Decision', r.decision ? `${r.decision} (${r.reason})` : r.errorReason),
        row('Status', r.status),
        row('Request', h('code', {}, `${r.method} ${r.path}`)),
        row('Route', r.route),
        row('App', r.app),
        row('Required', r.requiredPermissions.join(', ') || 'nothing'),
        row('Subject', r.subject && `${r.subject} (${r.principalType})`),
        row('Client', r.clientId),
        row('Tenant', r.tenant),
        row(
          'Delegation chain',
          r.actors?.length
            ? h(
                'ol',
                {},
                r.actors.map((a, i) =>
                  h(
                    'li',
                    {},
                    `${i === 0 ? 'acting now: ' : 'before: '}${a.subject}${a.clientId ? ` (client ${a.clientId})` : ''}`,
                  ),
                ),
              )
            : 'none: the subject acted itself',
        ),
        row(
          'DPoP',
          r.dpopBound === null ? '—' : r.dpopBound ? 'bound to a key (cnf.jkt), proof checked' : 'plain bearer token',
        ),
        row('Request id', h('code', {}, r.requestId)),
        row('Trace id', r.traceId && h('code', {}, r.traceId)),
        row('Duration', `${r.durationMs} ms`),
        row('Details', r.details && h('pre', {}, JSON.stringify(r.details, null, 2))),
        row('Hash', h('code', { class: 'small' }, r.hash ?? '—')),
        row('Previous hash', h('code', { class: 'small' }, r.prevHash ?? '—')),
      ),
    );
  } catch (err) {
    mount(panel, errorBox(err));
  }
}

/** The audit trail: filters, a live tail (polling), and a record's full detail. */
export function render(container, { params }) {
  const filters = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? '']));
  let items = [];
  let timer = null;
  const list = h('div', { class: 'scroll' });
  const panel = h('div', { class: 'detail-panel' });
  const tailBox = h('input', {
    type: 'checkbox',
    'data-testid': 'live-tail',
    onchange: (e) => (e.target.checked ? startTail() : stopTail()),
  });
  const inputs = FILTERS.map((f) =>
    f === 'decision'
      ? h(
          'select',
          { name: f, 'aria-label': f },
          ['', 'allow', 'deny'].map((v) => h('option', { value: v, selected: v === filters[f] }, v || 'any decision')),
        )
      : f === 'kind'
        ? h(
            'select',
            { name: f, 'aria-label': f },
            ['', 'access', 'event'].map((v) => h('option', { value: v, selected: v === filters[f] }, v || 'any kind')),
          )
        : h('input', { name: f, placeholder: f, value: filters[f], 'aria-label': f, size: 12 }),
  );
  const apply = (e) => {
    e.preventDefault();
    for (const input of inputs) filters[input.name] = input.value.trim();
    void load();
  };
  mount(
    container,
    h('h1', {}, 'Audit trail'),
    h(
      'form',
      { class: 'toolbar', onsubmit: apply },
      inputs,
      h('button', { type: 'submit' }, 'Filter'),
      h('label', {}, tailBox, ' Live tail'),
    ),
    h('div', { class: 'split' }, list, panel),
  );

  function draw() {
    mount(
      list,
      h(
        'table',
        { class: 'list', 'data-testid': 'audit-list' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Time', 'Subject', 'Request', 'Decision', 'Status'].map((t) => h('th', {}, t)),
          ),
        ),
        h(
          'tbody',
          {},
          items.map((r) =>
            h(
              'tr',
              {
                class: `clickable ${r.decision ?? ''}`,
                'data-id': r.id,
                'data-subject': r.subject ?? '',
                onclick: () => showRecord(panel, r.id),
              },
              h('td', {}, when(r.occurredAt)),
              h(
                'td',
                {},
                r.subject ?? '—',
                r.actors?.length ? h('span', { class: 'muted' }, ` via ${r.actors[0].subject}`) : null,
              ),
              h(
                'td',
                {},
                r.kind === 'event' ? h('em', {}, r.event) : h('code', {}, `${r.method} ${r.route ?? r.path}`),
              ),
              h('td', {}, r.decision ? `${r.decision} · ${r.reason}` : '—'),
              h('td', {}, r.status),
            ),
          ),
        ),
      ),
    );
  }

  async function load() {
    try {
      items = (await api(`/platform/audit${query({ ...filters, limit: 100 })}`)).items;
      draw();
    } catch (err) {
      mount(list, errorBox(err));
    }
  }

  // Polls for records newer than the newest shown; one poll at a time.
  async function poll() {
    try {
      const fresh = (await api(`/platform/audit${query({ ...filters, limit: 100 })}`)).items.filter(
        (r) => r.id > (items[0]?.id ?? 0),
      );
      if (fresh.length) {
        items = [...fresh, ...items].slice(0, 500);
        draw();
      }
    } catch (err) {
      stopTail();
      mount(list, errorBox(err));
      return;
    }
    if (timer !== null) timer = setTimeout(poll, TAIL_INTERVAL_MS);
  }
  function startTail() {
    clearTimeout(timer);
    timer = setTimeout(poll, 0);
  }
  function stopTail() {
    clearTimeout(timer);
    timer = null;
    tailBox.checked = false;
  }

  void load();
  if (params.get('record')) void showRecord(panel, params.get('record'));
  return stopTail;
}
