import { ChatError, type ChatClient, type Participant, type PresenceState } from '../chat-client.js';
import { avatar, nameOf, roleLabel } from './avatar.js';
import { fullDate, h, say } from './dom.js';
import { block, blockedIds, profileOf, unblock } from './people-api.js';

const reason = (e: unknown) => (e instanceof ChatError ? e.message : String(e));

/**
 * The conversation's menu: each other participant's profile and, for a
 * direct conversation, blocking or unblocking the other person. `status` is
 * where it reports what happened.
 */
export class ConversationMenu {
  readonly element: HTMLElement;
  private readonly toggle = h(
    'button',
    { type: 'button', className: 'menu-button', ariaLabel: 'Conversation menu', ariaExpanded: 'false', ariaHasPopup: 'menu' },
    '⋯',
  );
  private readonly list = h('ul', { className: 'menu', role: 'menu', hidden: true });
  private readonly dialog = h('dialog', { className: 'profile' });

  constructor(
    private readonly client: ChatClient,
    private readonly presence: PresenceState,
    private readonly others: () => readonly Participant[],
    private readonly direct: boolean,
    private readonly status: HTMLElement,
  ) {
    this.toggle.addEventListener('click', () => void (this.list.hidden ? this.show() : this.hide()));
    this.element = h('div', { className: 'menu-holder' }, this.toggle, this.list, this.dialog);
  }

  private hide(): void {
    this.list.hidden = true;
    this.toggle.setAttribute('aria-expanded', 'false');
  }

  private async show(): Promise<void> {
    const others = this.others();
    const item = (label: string, action: () => void) =>
      h('li', { role: 'none' }, h('button', { type: 'button', role: 'menuitem', onclick: () => (this.hide(), action()) }, label));
    const items = others.map((p) => item(others.length === 1 ? 'Profile' : `Profile of ${nameOf(p)}`, () => void this.profile(p)));
    const peer = this.direct ? others[0] : undefined;
    if (peer) {
      // Whether the person is blocked now decides what the item offers.
      const blocked = await blockedIds(this.client).then(
        (ids) => ids.has(peer.id),
        () => null,
      );
      if (blocked !== null)
        items.push(
          blocked
            ? item(`Unblock ${nameOf(peer)}`, () => void this.setBlocked(peer, false))
            : item(`Block ${nameOf(peer)}`, () => void this.setBlocked(peer, true)),
        );
    }
    this.list.replaceChildren(...items);
    this.list.hidden = false;
    this.toggle.setAttribute('aria-expanded', 'true');
  }

  private async setBlocked(peer: Participant, blocked: boolean): Promise<void> {
    try {
      await (blocked ? block(this.client, peer.id) : unblock(this.client, peer.id));
      say(this.status, blocked ? `You blocked ${nameOf(peer)}: they cannot write to you here.` : `You unblocked ${nameOf(peer)}.`, 'info');
    } catch (e) {
      say(this.status, `${blocked ? 'Not blocked' : 'Not unblocked'}: ${reason(e)}`);
    }
  }

  private async profile(p: Participant): Promise<void> {
    let shown: Participant & { last_seen_at?: string | null };
    try {
      shown = { ...p, ...(await profileOf(this.client, p.id)) };
    } catch (e) {
      say(this.status, `Could not load the profile: ${reason(e)}`);
      return;
    }
    const online = this.presence.isOnline(p.id);
    const seen = online ? 'Online' : shown.last_seen_at ? `Last seen ${fullDate(shown.last_seen_at)}` : 'Offline';
    this.dialog.replaceChildren(
      h(
        'div',
        { className: 'card' },
        avatar(shown, 'large'),
        h('h3', {}, nameOf(shown)),
        h('p', { className: 'username' }, `@${shown.username}`),
        shown.role && h('p', {}, h('span', { className: 'role', dataset: { role: shown.role } }, roleLabel(shown.role))),
        h('p', { className: 'seen' }, seen),
        h('button', { type: 'button', onclick: () => this.dialog.close() }, 'Close'),
      ),
    );
    this.dialog.dataset.userId = String(p.id);
    this.dialog.showModal();
  }
}
