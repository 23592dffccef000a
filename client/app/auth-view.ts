import { ChatError, type ChatClient } from '../chat-client.js';
import { field, h } from './dom.js';

interface NewClient {
  readonly client: ChatClient;
  readonly held: () => string | null;
}

/**
 * Registration and log-in side by side, under `notice` (why the user is here
 * again); calls `signedIn` with a client that holds the new session.
 */
export function renderAuth(
  root: HTMLElement,
  newClient: () => NewClient,
  signedIn: (client: ChatClient, held: () => string | null) => void,
  notice = '',
): void {
  const error = h('p', { className: 'error', role: 'alert' }, notice);

  const submit = (form: HTMLFormElement, action: (client: ChatClient) => Promise<unknown>) => {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      error.textContent = '';
      const button = form.querySelector('button')!;
      button.disabled = true;
      const { client, held } = newClient();
      action(client).then(
        () => signedIn(client, held),
        (e: unknown) => {
          button.disabled = false;
          error.textContent = e instanceof ChatError ? e.message : String(e);
        },
      );
    });
  };

  const register = h(
    'form',
    { className: 'card', ariaLabel: 'Register' },
    h('h2', {}, 'Create an account'),
    h('label', {}, 'Email', h('input', { name: 'email', type: 'email', required: true, autocomplete: 'email' })),
    h('label', {}, 'Username', h('input', { name: 'username', required: true, minLength: 3, autocomplete: 'username' })),
    h('label', {}, 'Password', h('input', { name: 'password', type: 'password', required: true, minLength: 8, autocomplete: 'new-password' })),
    h('label', {}, 'Role', h('select', { name: 'role' }, h('option', { value: 'tenant' }, 'Tenant'), h('option', { value: 'landlord' }, 'Landlord'))),
    h('button', { type: 'submit' }, 'Register'),
  );
  submit(register, (client) =>
    client.register({
      email: field(register, 'email'),
      username: field(register, 'username'),
      password: String(new FormData(register).get('password')),
      role: field(register, 'role') === 'landlord' ? 'landlord' : 'tenant',
    }),
  );

  const logIn = h(
    'form',
    { className: 'card', ariaLabel: 'Log in' },
    h('h2', {}, 'Log in'),
    h('label', {}, 'Username or email', h('input', { name: 'login', required: true, autocomplete: 'username' })),
    h('label', {}, 'Password', h('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' })),
    h('button', { type: 'submit' }, 'Log in'),
  );
  submit(logIn, (client) => {
    const login = field(logIn, 'login');
    const password = String(new FormData(logIn).get('password'));
    return client.logIn(login.includes('@') ? { email: login, password } : { username: login, password });
  });

  root.replaceChildren(h('section', { className: 'auth' }, h('h1', {}, 'Chat'), h('div', { className: 'auth-forms' }, register, logIn), error));
}
