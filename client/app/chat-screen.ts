import { ChatError, type ChatClient, type StateChange } from '../chat-client.js';
import { ConversationList } from './conversation-list.js';
import { ConversationView } from './conversation-view.js';
import { h, say } from './dom.js';
import { NotificationsControl } from './notifications.js';
import { PeopleSearch } from './people-search.js';
import { ReportQueue } from './report-queue.js';
import { conversationInUrl, conversationPath, isOpenConversation, isWhichConversation, type ShowingConversation } from './push-messages.js';

const describe = (s: StateChange): string => {
  switch (s.state) {
    case 'open':
      return 'Online';
    case 'reconnecting':
      return `Reconnecting in ${Math.ceil((s.delayMs ?? 0) / 1000)} s…`;
    case 'closed':
      return 'Offline';
    default:
      return 'Connecting…';
  }
};

/** How the signed-in screen ended: the user logged out, or the session ended elsewhere. */
export type Ending = 'logged-out' | 'ended';

/** Presence of the direct conversations' other users is asked for this many at a time. */
const PRESENCE_REQUESTS = 4;

/** The signed-in screen: conversation list, the open conversation, and the connection's state. */
export function renderChat(root: HTMLElement, client: ChatClient, ended: (ending: Ending) => void): void {
  const me = client.user!;
  const connection = h('span', { className: 'connection', role: 'status', dataset: { state: client.state.state } }, describe(client.state));
  const signOut = h('button', { type: 'button', className: 'sign-out' }, 'Log out');
  // Staff see the reported messages; the server answers 404 to anyone else.
  const reports = me.is_staff ? h('button', { type: 'button', className: 'reports-button', onclick: () => showReports() }, 'Reports') : null;
  const notifications = new NotificationsControl(client);
  const header = h(
    'header',
    {},
    h('h1', {}, 'Chat'),
    connection,
    h('span', { className: 'me', dataset: { userId: me.id } }, `Signed in as ${me.username}`),
    notifications.element,
    notifications.statusElement,
    reports,
    signOut,
  );
  const list = new ConversationList(me.id, client.presence, (id) => void open(id));
  const sidebarStatus = h('p', { className: 'status', role: 'status' });
  // Picking someone opens the direct conversation with them (the server answers the existing one if there is one).
  const start = new PeopleSearch(client, (person) => {
    client.createConversation({ participant_ids: [person.id] }).then(
      async (conversation) => {
        start.reset();
        await refreshList();
        await open(conversation.id);
      },
      (e: unknown) => start.failed(e instanceof ChatError ? e.message : String(e)),
    );
  });
  const pane = h('div', { className: 'pane' }, h('p', { className: 'placeholder' }, 'Pick a conversation or start one.'));
  // A narrow screen shows the list or the open conversation, not both (app.css).
  const screen = h('div', { className: 'chat', dataset: { showing: 'list' } }, header, h('aside', {}, start.element, sidebarStatus, list.element), pane);
  root.replaceChildren(screen);

  let view: ConversationView | null = null;
  let connectedBefore = false;
  // The most recent 100; a conversation further down comes back up when it gets a message.
  // After a reconnect (`stalePresence`) every presence shown may have changed meanwhile.
  const refreshList = (stalePresence = false) =>
    client.listConversations({ limit: 100 }).then(
      (page) => {
        list.replaceAll(page.conversations);
        void askPresence(list.directConversations(!stalePresence));
      },
      (e: unknown) => say(sidebarStatus, `Could not load conversations: ${e instanceof ChatError ? e.message : String(e)}`),
    );

  // The conversation list carries no presence, and pushes come only on changes: ask for the
  // participants of the direct conversations, a few requests at a time.
  async function askPresence(conversationIds: readonly number[]): Promise<void> {
    const queue = [...conversationIds];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) await client.participants(id).catch(() => undefined);
    };
    await Promise.all(Array.from({ length: Math.min(PRESENCE_REQUESTS, queue.length) }, worker));
  }

  async function open(id: number): Promise<void> {
    const conversation = list.conversation(id);
    if (!conversation || view?.id === id) return;
    view?.close();
    view = new ConversationView(client, conversation, me.id, (read) => list.markAllRead(read), showList);
    pane.replaceChildren(view.element);
    screen.dataset.showing = 'conversation';
    list.select(id);
    // A reload, or a window opened from a notification, shows the same conversation.
    history.replaceState(null, '', conversationPath(id));
    await view.load().catch((e: unknown) => say(sidebarStatus, `Could not open it: ${e instanceof ChatError ? e.message : String(e)}`));
  }

  function showReports(): void {
    view?.close();
    view = null;
    list.select(null);
    history.replaceState(null, '', '/');
    const queue = new ReportQueue(client, showList);
    pane.replaceChildren(queue.element);
    screen.dataset.showing = 'conversation';
    void queue.load();
  }

  /** Closes the open conversation: its messages then count as unread again while it is off screen. */
  function showList(): void {
    view?.close();
    view = null;
    pane.replaceChildren(h('p', { className: 'placeholder' }, 'Pick a conversation or start one.'));
    screen.dataset.showing = 'list';
    list.select(null);
    history.replaceState(null, '', '/');
  }

  // A click on a notification asks this window to show its conversation; before showing a
  // notification the service worker asks which one is on screen.
  const serviceWorkers = 'serviceWorker' in navigator ? navigator.serviceWorker : null;
  const fromWorker = (event: MessageEvent) => {
    if (isOpenConversation(event.data)) void openListed(event.data.conversation_id);
    else if (isWhichConversation(event.data)) event.ports[0]?.postMessage({ conversation_id: view?.id ?? null } satisfies ShowingConversation);
  };
  serviceWorkers?.addEventListener('message', fromWorker);
  async function openListed(id: number): Promise<void> {
    if (!list.has(id)) await refreshList();
    await open(id);
  }

  const current = (conversationId: number) => (view?.id === conversationId ? view : null);
  client.on('receiveMessage', (m) => {
    if (!list.has(m.conversation_id)) return void refreshList(); // someone started a conversation with us
    const shown = current(m.conversation_id);
    shown?.received(m);
    list.received(m, m.sender_id !== me.id && !(shown && document.visibilityState === 'visible'));
  });
  client.on('messageUpdated', (m) => {
    current(m.conversation_id)?.updated(m);
    list.updated(m);
  });
  client.on('messageDeleted', (d) => {
    current(d.conversation_id)?.deleted(d.id);
    if (list.showsMessage(d.conversation_id, d.id)) void refreshList();
  });
  client.on('readReceipt', (r) => {
    current(r.conversation_id)?.receipt(r);
    if (r.user_id === me.id) list.markAllRead(r.conversation_id); // read on another device
  });
  client.on('pending', (p) => current(p.conversation_id)?.showPending(p.messages));
  client.on('synced', (s) => current(s.conversation_id)?.synced());
  client.on('participantAdded', () => void refreshList());
  client.on('participantRemoved', () => void refreshList());
  client.presence.on('presenceChanged', (p) => list.presenceChanged(p.user_id));
  client.on('state', (s) => {
    connection.textContent = describe(s);
    connection.dataset.state = s.state;
    if (s.state === 'open') {
      if (connectedBefore) void refreshList(true); // unread counts, new conversations and presence from while we were away
      connectedBefore = true;
    }
    // Logged out elsewhere, revoked from another device, the password changed, or the refresh token refused.
    if (s.state === 'closed' && (s.reason === 'revoked' || s.reason === 'unauthorized')) {
      serviceWorkers?.removeEventListener('message', fromWorker);
      view?.close();
      history.replaceState(null, '', '/');
      ended('ended');
    }
  });

  signOut.addEventListener('click', () => {
    signOut.disabled = true;
    serviceWorkers?.removeEventListener('message', fromWorker);
    view?.close();
    view = null;
    history.replaceState(null, '', '/');
    // Signed out here even when the server cannot be told; pushes for this user stop first, while the token still works.
    const logOut = () => client.logOut();
    notifications
      .signOut()
      .catch(() => undefined)
      .then(logOut)
      .then(
        () => ended('logged-out'),
        () => ended('logged-out'),
      );
  });

  // Opened from a notification (or reloaded while showing a conversation).
  const asked = conversationInUrl(location.href);
  void refreshList().then(() => (asked === null ? undefined : open(asked)));
  void notifications.start();
  client.connect().catch(() => undefined); // the state listener handles a refused token
}
