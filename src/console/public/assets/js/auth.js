/**
 * Sign-in with OpenID Connect authorization code + PKCE (RFC 7636) against the issuer the API
 * trusts. The access token lives in this module's memory only: never in localStorage,
 * sessionStorage or a cookie. Only the PKCE verifier and the state survive the redirect to the
 * identity provider, in sessionStorage, and are deleted as soon as the code is redeemed.
 */
const PKCE_KEY = 'console.pkce';
const session = { token: null, expiresAt: 0, timer: null };
let settings = null;
let discovery = null;
const listeners = new Set();

const b64url = (bytes) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));
const redirectUri = () => `${location.origin}/console`;

/** Loads the console's settings and the issuer's discovery document (once). */
export async function loadSettings() {
  if (settings) return settings;
  settings = await (await fetch('/console/settings.json')).json();
  const response = await fetch(`${settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`The identity provider's discovery answered ${response.status}`);
  discovery = await response.json();
  return settings;
}

/** Sends the browser to the identity provider; it comes back to /console?code=...&state=... */
export async function signIn() {
  const verifier = random(32);
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const state = random(16);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: settings.clientId,
    response_type: 'code',
    redirect_uri: redirectUri(),
    scope: 'openid profile',
    resource: settings.audience,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    // Always ask who signs in: after a logout, the next person may be someone else.
    prompt: 'login',
  }).toString();
  location.assign(url.toString());
}

/**
 * On the way back from the identity provider: checks the state, redeems the code with the PKCE
 * verifier, keeps the token in memory and removes the code from the address bar.
 * @returns false when this page load is not a sign-in callback
 * @throws Error when the provider refused, or the state does not match
 */
export async function completeSignIn() {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return false;
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? 'null');
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, '', '/console');
  if (params.has('error'))
    throw new Error(`Sign-in refused: ${params.get('error')} ${params.get('error_description') ?? ''}`);
  if (!saved || saved.state !== params.get('state'))
    throw new Error('Sign-in failed: the answer does not belong to this browser tab (state mismatch). Sign in again.');
  const response = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.get('code'),
      redirect_uri: redirectUri(),
      client_id: settings.clientId,
      code_verifier: saved.verifier,
      resource: settings.audience,
    }),
  });
  const json = await response.json();
  if (!response.ok || !json.access_token)
    throw new Error(`Sign-in failed: ${json.error ?? response.status} ${json.error_description ?? ''}`);
  startSession(json.access_token, Number(json.expires_in) || 300);
  return true;
}

function startSession(token, expiresInSeconds) {
  clearTimeout(session.timer);
  session.token = token;
  session.expiresAt = Date.now() + expiresInSeconds * 1000;
  // The session ends when the token does: the console never holds a token it cannot use.
  session.timer = setTimeout(() => signOut('Your session expired. Sign in again.'), expiresInSeconds * 1000);
}

/** The access token, or null when signed out. */
export function accessToken() {
  return session.token;
}

/** Seconds until the session ends (0 when signed out). */
export function secondsLeft() {
  return session.token ? Math.max(0, Math.round((session.expiresAt - Date.now()) / 1000)) : 0;
}

/** Forgets the token and tells the page (with why, e.g. expiry). */
export function signOut(message = 'You are signed out.') {
  clearTimeout(session.timer);
  session.token = null;
  session.expiresAt = 0;
  for (const listener of listeners) listener(message);
}

/** Called with a message whenever the session ends. */
export function onSignOut(listener) {
  listeners.add(listener);
}
