import {
  ChatError,
  type Attachment,
  type ChatClient,
  type Conversation,
  type Message,
  type Participant,
  type PendingMessage,
  type PushEvents,
} from '../chat-client.js';
import { titleOf } from './conversation-list.js';
import { dayKey, dayLabel, field, fullDate, h, say, time } from './dom.js';
import { attachmentView } from './attachment-view.js';
import { avatar, nameOf, roleLabel } from './avatar.js';
import { ConversationMenu } from './conversation-menu.js';
import { typeOfFile, uploadFile } from './files-api.js';
import { reportMessage } from './people-api.js';
import { presenceDot, typingLine } from './presence-view.js';

const PAGE = 30;

const reason = (e: unknown) => (e instanceof ChatError ? e.message : String(e));

/**
 * One open conversation: the other participants with their presence, history
 * paged backwards, live and caught-up messages in id order, pending sends below
 * them, read receipts on one's own messages, inline edit and delete, who is
 * typing, and the composer (which tells the others while the user types). It
 * follows the conversation while open, so the client catches it up after every
 * reconnect.
 */
export class ConversationView {
  readonly element: HTMLElement;
  private readonly scroller = h('div', { className: 'scroller' });
  private readonly list = h('ol', { className: 'messages', ariaLabel: 'Messages' });
  private readonly pendingList = h('ol', { className: 'messages pending-list', ariaLabel: 'Sending' });
  private readonly older = h('button', { type: 'button', className: 'older', hidden: true }, 'Load older messages');
  private readonly status = h('p', { className: 'status', role: 'status' });
  private readonly participants = h('ul', { className: 'participants', ariaLabel: 'Participants' });
  private readonly typing = h('p', { className: 'typing', ariaLive: 'polite', hidden: true });
  private readonly unsubscribe: Array<() => void> = [];
  private readonly messages = new Map<number, Message>();
  /** The participants by id, kept up to date with their profile changes. */
  private readonly people = new Map<number, Participant>();
  /** The highest of one's own messages someone else has read. */
  private readUpTo = 0;
  private markedUpTo = 0;

  constructor(
    private readonly client: ChatClient,
    readonly conversation: Conversation,
    private readonly myId: number,
    /** Called once the server has the read marker at the newest message. */
    private readonly onRead: (conversationId: number) => void,
    /** Back to the conversation list (a narrow screen shows one or the other). */
    back: () => void,
  ) {
    const picker = h('input', { type: 'file', name: 'file', multiple: true, className: 'file-picker', ariaLabel: 'Attach files' });
    picker.addEventListener('change', () => {
      void this.attach([...(picker.files ?? [])]);
      picker.value = '';
    });
    const composer = h(
      'form',
      { className: 'composer' },
      h('label', { className: 'attach', title: 'Attach files (or drop them here)' }, picker, h('span', { ariaHidden: 'true' }, '📎')),
      h('input', { name: 'content', placeholder: 'Write a message', autocomplete: 'off', required: true, ariaLabel: 'Message' }),
      h('button', { type: 'submit' }, 'Send'),
    );
    // Every keystroke may say so: the client sends at most one announcement every 3 s.
    composer.addEventListener('input', () => this.client.sendTyping(this.id, field(composer, 'content') !== ''));
    composer.addEventListener('submit', (event) => {
      event.preventDefault();
      const content = field(composer, 'content');
      if (!content) return;
      composer.reset();
      this.say('');
      this.client.sendMessage({ conversation_id: this.id, content }).acked.catch((e: unknown) => this.say(`Not sent: ${reason(e)}`));
    });
    this.older.addEventListener('click', () => void this.loadOlder());
    this.scroller.append(this.older, this.list, this.pendingList);
    this.element = h(
      'section',
      { className: 'conversation-view', dataset: { conversationId: this.id } },
      h(
        'div',
        { className: 'conversation-head' },
        h('button', { type: 'button', className: 'back', ariaLabel: 'Back to conversations', onclick: back }, '‹'),
        h('div', { className: 'heading' }, h('h2', {}, titleOf(conversation, myId)), this.participants),
        new ConversationMenu(client, client.presence, () => this.others(), conversation.kind === 'direct', this.status).element,
      ),
      this.scroller,
      this.typing,
      this.status,
      composer,
    );
    for (const p of conversation.participants) this.people.set(p.id, p);
    this.showParticipants();
    this.acceptDrops();
    this.unsubscribe.push(
      client.on('profileUpdated', (p) => {
        const known = this.people.get(p.id);
        if (!known) return;
        this.people.set(p.id, { ...known, ...p });
        this.showParticipants();
        for (const m of this.messages.values()) if (m.sender_id === p.id) this.updated(m);
      }),
      client.presence.on('presenceChanged', (p) => {
        if (conversation.participants.some((x) => x.id === p.user_id)) this.showParticipants();
      }),
      client.presence.on('typingChanged', (t) => {
        if (t.conversation_id === this.id) this.showTyping(t.user_ids);
      }),
    );
    document.addEventListener('visibilitychange', this.onVisible);
  }

  get id(): number {
    return this.conversation.id;
  }

  async load(): Promise<void> {
    // Presence, for the dots; it then follows the pushes.
    this.client.participants(this.id).catch(() => undefined);
    const page = await this.client.history(this.id, { limit: PAGE });
    for (const m of page.messages) this.add(m);
    this.showDays();
    this.older.hidden = !page.has_more;
    for (const m of page.messages) if (m.sender_id === this.myId && m.read_at) this.readUpTo = Math.max(this.readUpTo, m.id);
    this.refreshReceipts();
    this.client.follow(this.id, page.messages.at(-1)?.id ?? 0);
    this.showPending(this.client.pendingMessages(this.id));
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.markRead();
  }

  close(): void {
    this.client.unfollow(this.id);
    this.client.sendTyping(this.id, false);
    for (const off of this.unsubscribe) off();
    document.removeEventListener('visibilitychange', this.onVisible);
  }

  received(m: Message): void {
    const atBottom = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < 40;
    this.add(m);
    this.showDays();
    if (atBottom || m.sender_id === this.myId) this.scroller.scrollTop = this.scroller.scrollHeight;
    this.markRead();
  }

  updated(m: Message): void {
    if (!this.messages.has(m.id)) return;
    this.messages.set(m.id, m);
    this.list.querySelector(`[data-message-id="${m.id}"]`)?.replaceWith(this.render(m));
  }

  deleted(id: number): void {
    this.messages.delete(id);
    this.list.querySelector(`[data-message-id="${id}"]`)?.remove();
    this.showDays();
  }

  receipt(r: PushEvents['readReceipt']): void {
    if (r.user_id === this.myId || r.message_id <= this.readUpTo) return;
    this.readUpTo = r.message_id;
    this.refreshReceipts();
  }

  showPending(pending: readonly PendingMessage[]): void {
    this.pendingList.replaceChildren(
      ...pending.map((p) =>
        h(
          'li',
          { className: 'message own pending', dataset: { clientId: p.client_id } },
          h('div', { className: 'meta' }, h('span', { className: 'sender' }, 'You'), h('span', { className: 'receipt' }, 'Sending…')),
          h('p', { className: 'content' }, p.content || (p.attachment ? `Sending a ${p.type === 'file' ? 'file' : p.type}…` : '')),
        ),
      ),
    );
    if (pending.length > 0) this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  /** Caught up after a (re)connect: what arrived may need a read marker. */
  synced(): void {
    this.markRead();
  }

  private readonly onVisible = () => this.markRead();

  /** Files dropped anywhere on the conversation are uploaded and sent, one message each. */
  private acceptDrops(): void {
    const carriesFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') === true;
    this.element.addEventListener('dragover', (e) => {
      if (!carriesFiles(e)) return;
      e.preventDefault();
      this.element.classList.add('dropping');
    });
    this.element.addEventListener('dragleave', (e) => {
      if (!this.element.contains(e.relatedTarget as Node | null)) this.element.classList.remove('dropping');
    });
    this.element.addEventListener('drop', (e) => {
      if (!carriesFiles(e)) return;
      e.preventDefault();
      this.element.classList.remove('dropping');
      void this.attach([...(e.dataTransfer?.files ?? [])]);
    });
  }

  /** Uploads each file, then sends it as a message of its own (an image, a video or a file). */
  private async attach(files: readonly File[]): Promise<void> {
    for (const file of files) {
      say(this.status, `Uploading ${file.name}…`, 'info');
      try {
        const uploadId = await uploadFile(this.client, file);
        say(this.status, '');
        this.client
          .sendMessage({ conversation_id: this.id, type: typeOfFile(file), content: '', attachment: { upload_id: uploadId } })
          .acked.catch((e: unknown) => this.say(`${file.name} not sent: ${reason(e)}`));
      } catch (e) {
        this.say(`${file.name} not sent: ${reason(e)}`);
      }
    }
  }

  private others(): Participant[] {
    return [...this.people.values()].filter((p) => p.id !== this.myId);
  }

  private showParticipants(): void {
    this.participants.replaceChildren(
      ...this.others().map((p) => {
        const online = this.client.presence.isOnline(p.id);
        return h(
          'li',
          { className: 'participant', dataset: { userId: p.id, online: String(online) } },
          presenceDot(online),
          h('span', { className: 'name' }, nameOf(p)),
          p.role && h('span', { className: 'role', dataset: { role: p.role } }, roleLabel(p.role)),
        );
      }),
    );
  }

  private showTyping(userIds: readonly number[]): void {
    const names = userIds.map((id) => {
      const p = this.people.get(id);
      return p ? nameOf(p) : 'Someone';
    });
    this.typing.textContent = typingLine(names);
    this.typing.hidden = names.length === 0;
  }

  private add(m: Message): void {
    if (this.messages.has(m.id)) return this.updated(m);
    this.messages.set(m.id, m);
    const element = this.render(m);
    const next = [...this.list.querySelectorAll<HTMLElement>('li.message')].find((li) => Number(li.dataset.messageId) > m.id);
    this.list.insertBefore(element, next ?? null);
  }

  /** A separator before the first message of each day ("Today", "Yesterday", the date), redrawn after every change. */
  private showDays(): void {
    for (const separator of this.list.querySelectorAll('li.day')) separator.remove();
    let previous = '';
    for (const li of this.list.querySelectorAll<HTMLElement>('li.message')) {
      const m = this.messages.get(Number(li.dataset.messageId));
      if (!m) continue;
      const day = dayKey(m.created_at);
      if (day !== previous) li.before(h('li', { className: 'day', role: 'separator', dataset: { day } }, h('span', {}, dayLabel(m.created_at))));
      previous = day;
    }
  }

  private async loadOlder(): Promise<void> {
    const oldest = Math.min(...this.messages.keys());
    this.older.disabled = true;
    try {
      const page = await this.client.history(this.id, { before: oldest, limit: PAGE });
      const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
      for (const m of page.messages) this.add(m);
      this.showDays();
      this.older.hidden = !page.has_more;
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
    } catch (e) {
      this.say(`Could not load older messages: ${reason(e)}`);
    } finally {
      this.older.disabled = false;
    }
  }

  /** Moves the read marker to the newest message while the page is visible and someone else wrote since. */
  private markRead(): void {
    if (document.visibilityState !== 'visible') return;
    const newest = Math.max(0, ...this.messages.keys());
    const unseen = [...this.messages.values()].some((m) => m.id > this.markedUpTo && m.sender_id !== this.myId);
    if (!unseen) return;
    const markedBefore = this.markedUpTo;
    this.markedUpTo = newest;
    this.client.markRead(this.id, newest).then(
      () => this.onRead(this.id),
      () => (this.markedUpTo = markedBefore), // offline: the catch-up after reconnecting tries again
    );
  }

  private refreshReceipts(): void {
    for (const li of this.list.querySelectorAll<HTMLElement>('li.own')) {
      const read = Number(li.dataset.messageId) <= this.readUpTo;
      li.classList.toggle('read', read);
      li.querySelector('.receipt')!.textContent = read ? 'Read' : 'Sent';
    }
  }

  private render(m: Message): HTMLLIElement {
    const own = m.sender_id === this.myId;
    // The original backend's clients send media as its URL in `content`: show that once, as the attachment.
    const content = h('p', { className: 'content', hidden: m.attachment !== null && m.content.trim() === m.attachment.url }, m.content);
    const actions = own
      ? h(
          'span',
          { className: 'actions' },
          h('button', { type: 'button', className: 'edit', onclick: () => this.edit(m, content) }, 'Edit'),
          h('button', { type: 'button', className: 'delete', onclick: () => this.remove(m.id) }, 'Delete'),
        )
      : h('span', { className: 'actions' }, h('button', { type: 'button', className: 'report', onclick: () => this.report(m, content) }, 'Report'));
    const sender = this.people.get(m.sender_id) ?? m.sender;
    const role = this.people.get(m.sender_id)?.role;
    const read = own && m.id <= this.readUpTo;
    return h(
      'li',
      { className: `message${own ? ' own' : ''}${read ? ' read' : ''}`, dataset: { messageId: m.id } },
      h(
        'div',
        { className: 'meta' },
        !own && avatar(sender),
        h('span', { className: 'sender' }, own ? 'You' : nameOf(sender)),
        !own && role && h('span', { className: 'role', dataset: { role } }, roleLabel(role)),
        h('time', { dateTime: m.created_at, title: fullDate(m.created_at) }, time(m.created_at)),
        m.edited_at && h('span', { className: 'edited' }, 'edited'),
        own && h('span', { className: 'receipt' }, read ? 'Read' : 'Sent'),
        actions,
      ),
      content,
      m.attachment && attachmentView(m.type, m.attachment, () => this.freshAttachment(m.id)),
    );
  }

  private edit(m: Message, content: HTMLElement): void {
    const form = h(
      'form',
      { className: 'edit-form' },
      h('input', { name: 'content', value: m.content, required: true, ariaLabel: 'Edit message' }),
      h('button', { type: 'submit' }, 'Save'),
      h('button', { type: 'button', onclick: () => form.replaceWith(content) }, 'Cancel'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.client.editMessage(m.id, field(form, 'content')).then(
        (updated) => this.updated(updated),
        (e: unknown) => this.say(`Not edited: ${reason(e)}`),
      );
    });
    content.replaceWith(form);
    form.querySelector('input')!.focus();
  }

  /** The message's attachment with new signed links (they last minutes): the message read again. */
  private async freshAttachment(id: number): Promise<Attachment | null> {
    const page = await this.client.history(this.id, { before: id + 1, limit: 1 });
    return page.messages.find((m) => m.id === id)?.attachment ?? null;
  }

  /** Asks why, then reports the message to the staff (once per message). */
  private report(m: Message, content: HTMLElement): void {
    const form = h(
      'form',
      { className: 'report-form' },
      h('input', { name: 'reason', required: true, maxLength: 1000, placeholder: 'Why report this message?', ariaLabel: 'Reason for the report' }),
      h('button', { type: 'submit' }, 'Report'),
      h('button', { type: 'button', onclick: () => form.remove() }, 'Cancel'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      reportMessage(this.client, m.id, field(form, 'reason')).then(
        () => {
          form.remove();
          say(this.status, 'Reported: the staff will look at it.', 'info');
        },
        (e: unknown) => this.say(`Not reported: ${reason(e)}`),
      );
    });
    content.after(form);
    form.querySelector('input')!.focus();
  }

  private remove(id: number): void {
    this.client.deleteMessage(id).then(
      () => this.deleted(id),
      (e: unknown) => this.say(`Not deleted: ${reason(e)}`),
    );
  }

  private say(text: string): void {
    say(this.status, text);
  }
}
