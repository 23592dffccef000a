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

  const forgot = h(
    'form',
    { className: 'card', ariaLabel: 'Forgot password', hidden: true },
    h('h2', {}, 'Forgot your password?'),
    h('label', {}, 'Email', h('input', { name: 'email', type: 'email', required: true, autocomplete: 'email' })),
    h('button', { type: 'submit' }, 'Mail me a link'),
  );
  forgot.addEventListener('submit', (event) => {
    event.preventDefault();
    error.textContent = '';
    newClient()
      .client.forgotPassword(field(forgot, 'email'))
      .then(
        (message) => forgot.replaceChildren(h('h2', {}, 'Check your mail'), h('p', { role: 'status' }, message)),
        (e: unknown) => (error.textContent = e instanceof ChatError ? e.message : String(e)),
      );
  });
  const showForgot = h(
    'button',
    { type: 'button', className: 'link', onclick: () => ((forgot.hidden = false), forgot.querySelector('input')!.focus()) },
    'Forgot password?',
  );
  logIn.append(showForgot);

  root.replaceChildren(h('section', { className: 'auth' }, h('h1', {}, 'Chat'), h('div', { className: 'auth-forms' }, register, logIn, forgot), error));
}

/** The form a mailed reset link opens: a new password for the token, then `done` with what to tell the user. */
export function renderReset(root: HTMLElement, token: string, newClient: () => NewClient, done: (notice: string) => void): void {
  const error = h('p', { className: 'error', role: 'alert' });
  const form = h(
    'form',
    { className: 'card', ariaLabel: 'Choose a new password' },
    h('h2', {}, 'Choose a new password'),
    h('label', {}, 'New password', h('input', { name: 'password', type: 'password', required: true, minLength: 8, autocomplete: 'new-password' })),
    h('button', { type: 'submit' }, 'Set password'),
    h('button', { type: 'button', className: 'link', onclick: () => done('') }, 'Back to sign in'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    error.textContent = '';
    const button = form.querySelector('button')!;
    button.disabled = true;
    newClient()
      .client.resetPassword(token, String(new FormData(form).get('password')))
      .then(
        () => done('Your password was changed and every device signed out. Sign in with the new one.'),
        (e: unknown) => {
          button.disabled = false;
          error.textContent = e instanceof ChatError ? e.message : String(e);
        },
      );
  });
  root.replaceChildren(h('section', { className: 'auth' }, h('h1', {}, 'Chat'), h('div', { className: 'auth-forms' }, form), error));
}
