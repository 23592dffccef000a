import { ChatClient, ChatError, type Session } from '../chat-client.js';
import { renderAuth, renderReset } from './auth-view.js';
import { renderChat, type Ending } from './chat-screen.js';
import { h } from './dom.js';
import { forgetSession, loadSession, saveSession, sharedSession } from './session-store.js';

const root = document.getElementById('app')!;

/** A client that keeps every new pair it gets; `held` is its newest refresh token. */
function newClient(kept: Session | null = null): { client: ChatClient; held: () => string | null } {
  let held = kept?.refresh_token ?? null;
  const client: ChatClient = new ChatClient({
    ...(kept ? { token: kept.token, refreshToken: kept.refresh_token, expiresAt: kept.expires_at } : {}),
    sessionSharing: sharedSession(() => client.user?.id ?? kept?.user.id),
  });
  client.on('session', (session) => {
    held = session.refresh_token;
    saveSession(session);
  });
  return { client, held: () => held };
}

function showChat(client: ChatClient, held: () => string | null): void {
  renderChat(root, client, (ending: Ending) => {
    const kept = loadSession();
    // Another tab signed in anew (or changed the password) meanwhile: go on with its session.
    if (ending === 'ended' && kept && kept.refresh_token !== held()) return resume(kept);
    forgetSession(held());
    signedOut(ending === 'ended' ? 'Your session has ended. Please sign in again.' : '');
  });
}

function signedOut(notice = ''): void {
  renderAuth(root, () => newClient(), showChat, notice);
}

function resume(kept: Session): void {
  const { client, held } = newClient(kept);
  // An expired access token is refreshed on the way.
  client.me().then(
    () => showChat(client, held),
    (e: unknown) => {
      if (e instanceof ChatError && e.status === 401) {
        forgetSession(kept.refresh_token);
        return signedOut('Your session has ended. Please sign in again.');
      }
      const retry = h('button', { type: 'button', onclick: () => resume(loadSession() ?? kept) }, 'Try again');
      root.replaceChildren(h('p', { className: 'error', role: 'alert' }, `Cannot reach the server: ${e instanceof Error ? e.message : String(e)} `, retry));
    },
  );
}

const kept = loadSession();
// A mailed reset link: the token is taken out of the address bar (and the history) before anything else.
const resetToken = /^#reset_token=([\w-]+)$/.exec(location.hash)?.[1];
if (resetToken) {
  history.replaceState(null, '', location.pathname + location.search);
  renderReset(
    root,
    resetToken,
    () => newClient(),
    (notice) => (notice || !kept ? signedOut(notice) : resume(kept)),
  );
} else if (kept) resume(kept);
else signedOut();
