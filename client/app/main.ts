import { ChatClient, ChatError } from '../chat-client.js';
import { renderAuth } from './auth-view.js';
import { renderChat } from './chat-screen.js';
import { h } from './dom.js';

/** Per tab, so two tabs can be two users; nothing but the token is kept. */
const TOKEN_KEY = 'chat.token';
const root = document.getElementById('app')!;

function signedIn(client: ChatClient): void {
  sessionStorage.setItem(TOKEN_KEY, client.token!);
  renderChat(root, client, signedOut);
}

function signedOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  renderAuth(root, signedIn);
}

function resume(token: string): void {
  const client = new ChatClient({ token });
  client.me().then(
    () => renderChat(root, client, signedOut),
    (e: unknown) => {
      if (e instanceof ChatError && e.status === 401) return signedOut();
      const retry = h('button', { type: 'button', onclick: () => resume(token) }, 'Try again');
      root.replaceChildren(h('p', { className: 'error', role: 'alert' }, `Cannot reach the server: ${e instanceof Error ? e.message : String(e)} `, retry));
    },
  );
}

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) resume(saved);
else signedOut();
