import { api } from './api.js';
import { completeSignIn, loadSettings, onSignOut, secondsLeft, signIn, signOut } from './auth.js';
import { errorBox, h, mount } from './dom.js';
import * as accessMap from './page-access-map.js';
import * as audit from './page-audit.js';
import * as explain from './page-explain.js';
import * as me from './page-me.js';
import * as people from './page-people.js';
import * as refusals from './page-refusals.js';

/**
 * Pages and the permission whose API each one reads. A page is listed only when the policy grants
 * that permission (GET /platform/me); the API refuses anyway when it does not.
 */
const PAGES = [
  { id: 'access-map', title: 'Access map', needs: 'platform:authz:explain', page: accessMap },
  { id: 'refusals', title: 'Refusals', needs: 'platform:audit:read', page: refusals },
  { id: 'audit', title: 'Audit trail', needs: 'platform:audit:read', page: audit },
  { id: 'explain', title: 'Explain', needs: 'platform:authz:explain', page: explain },
  { id: 'people', title: 'People and machines', needs: 'users:users:read', page: people },
  { id: 'me', title: 'My access', needs: null, page: me },
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
let current = { me: null, cleanup: null };

const allowed = (page) => page.needs === null || current.me.permissions.includes(page.needs);

/** `#/refusals?groupBy=reason` -> { id: 'refusals', params: URLSearchParams }. */
function route() {
  const [id, search] = location.hash.replace(/^#\/?/, '').split('?');
  return { id, params: new URLSearchParams(search ?? '') };
}

/** Goes to a page with parameters (a new history entry). */
export function navigate(id, params = {}) {
  const search = new URLSearchParams(params).toString();
  location.hash = `#/${id}${search ? `?${search}` : ''}`;
}

function render() {
  if (!current.me) return;
  current.cleanup?.();
  current.cleanup = null;
  const { id, params } = route();
  const available = PAGES.filter(allowed);
  const page = PAGES.find((p) => p.id === id);
  if (!page) return navigate(available[0].id);
  mount(
    nav,
    available.map((p) =>
      h('a', { href: `#/${p.id}`, class: p.id === id ? 'active' : undefined, 'data-page': p.id }, p.title),
    ),
  );
  if (!allowed(page)) {
    mount(
      main,
      h('h1', {}, page.title),
      h(
        'p',
        { class: 'error', role: 'alert', 'data-testid': 'not-allowed' },
        `Your roles do not grant ${page.needs}: this page is not available to you.`,
      ),
    );
    return;
  }
  document.title = `${page.title} · Platform console`;
  const container = h('section', { class: 'page', 'data-page': page.id });
  mount(main, container);
  try {
    current.cleanup = page.page.render(container, { me: current.me, params, navigate }) ?? null;
  } catch (err) {
    mount(container, errorBox(err));
  }
}

function showSignedOut(message) {
  current = { me: null, cleanup: (current.cleanup?.(), null) };
  mount(nav);
  mount(who);
  mount(
    main,
    h(
      'section',
      { class: 'signin' },
      h('h1', {}, 'Platform console'),
      h('p', {}, 'See who may call what, find permission refusals before users report them, and fix them.'),
      message ? h('p', { class: 'notice', 'data-testid': 'signed-out-message' }, message) : null,
      h(
        'button',
        { type: 'button', class: 'primary', onclick: () => signIn().catch((err) => mount(main, errorBox(err))) },
        'Sign in',
      ),
    ),
  );
}

async function showSignedIn() {
  current.me = await api('/platform/me');
  mount(
    who,
    h(
      'span',
      { 'data-testid': 'signed-in-as' },
      `${current.me.subject}${current.me.tenant ? ` @ ${current.me.tenant}` : ''} (${current.me.roles.join(', ') || 'no roles'})`,
    ),
    h(
      'span',
      { class: 'muted', title: 'The session ends when the access token expires' },
      ` · ${Math.round(secondsLeft() / 60)} min left `,
    ),
    h('button', { type: 'button', onclick: () => signOut('You signed out.') }, 'Sign out'),
  );
  render();
}

async function boot() {
  onSignOut(showSignedOut);
  window.addEventListener('hashchange', render);
  try {
    await loadSettings();
    if (await completeSignIn()) await showSignedIn();
    else showSignedOut();
  } catch (err) {
    showSignedOut();
    main.prepend(errorBox(err));
  }
}

void boot();
