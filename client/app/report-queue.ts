import { ChatError, type ChatClient, type Message, type PublicProfile } from '../chat-client.js';
import { avatar, nameOf, roleLabel } from './avatar.js';
import { fullDate, h, say, shortWhen } from './dom.js';

type Person = Omit<PublicProfile, 'online' | 'last_seen_at'>;

/** A report as the staff's queue shows it (`GET /admin/reports`). */
interface QueuedReport {
  readonly id: number;
  readonly message_id: number;
  readonly conversation_id: number;
  readonly reason: string;
  readonly status: 'open' | 'dismissed' | 'actioned';
  readonly created_at: string;
  readonly reported_content: string;
  readonly reporter: Person;
  readonly sender: Person;
  /** Null once deleted. */
  readonly message: Message | null;
  /** Up to two messages before it, the message, up to two after. */
  readonly context: readonly Message[];
}

interface Queue {
  readonly reports: QueuedReport[];
  readonly next_before: number | null;
}

const reason = (e: unknown) => (e instanceof ChatError ? e.message : String(e));

const person = (p: Person) =>
  h('span', { className: 'who' }, avatar(p), nameOf(p), h('span', { className: 'role', dataset: { role: p.role } }, roleLabel(p.role)));

/**
 * The staff's queue of open reports, newest first: each with the reported
 * message in its context, and the actions staff take on it (dismiss, delete
 * the message, deactivate its sender). Every action is written to the audit log.
 */
export class ReportQueue {
  readonly element: HTMLElement;
  private readonly list = h('ol', { className: 'reports', ariaLabel: 'Open reports' });
  private readonly status = h('p', { className: 'status', role: 'status' });
  private readonly more = h('button', { type: 'button', className: 'older', hidden: true }, 'Older reports');
  private before: number | null = null;

  constructor(
    private readonly client: ChatClient,
    back: () => void,
  ) {
    this.more.addEventListener('click', () => void this.load());
    this.element = h(
      'section',
      { className: 'report-queue' },
      h(
        'div',
        { className: 'conversation-head' },
        h('button', { type: 'button', className: 'back', ariaLabel: 'Back to conversations', onclick: back }, '‹'),
        h('h2', {}, 'Reported messages'),
      ),
      this.status,
      h('div', { className: 'scroller' }, this.list, this.more),
    );
  }

  async load(): Promise<void> {
    const query = new URLSearchParams({ status: 'open', limit: '20' });
    if (this.before !== null) query.set('before', String(this.before));
    try {
      const page = await this.client.rest<Queue>('GET', `/admin/reports?${query}`);
      this.list.append(...page.reports.map((r) => this.item(r)));
      this.before = page.next_before;
      this.more.hidden = page.next_before === null;
      if (this.list.children.length === 0) say(this.status, 'No open reports.', 'info');
    } catch (e) {
      say(this.status, `Could not load the reports: ${reason(e)}`);
    }
  }

  private item(r: QueuedReport): HTMLLIElement {
    const outcome = h('p', { className: 'status', role: 'status' });
    const act = (label: string, className: string, path: string, done: string) =>
      h(
        'button',
        {
          type: 'button',
          className,
          onclick: (e: Event) => {
            const buttons = li.querySelectorAll('button');
            for (const b of buttons) b.disabled = true;
            this.client.rest('POST', path).then(
              () => {
                li.classList.add('resolved');
                say(outcome, done, 'info');
              },
              (error: unknown) => {
                for (const b of buttons) b.disabled = false;
                say(outcome, reason(error));
              },
            );
            e.preventDefault();
          },
        },
        label,
      );
    const context = h(
      'ol',
      { className: 'context' },
      ...r.context.map((m) =>
        h(
          'li',
          { className: m.id === r.message_id ? 'reported' : '', dataset: { messageId: m.id } },
          h('span', { className: 'sender' }, m.sender.username),
          h('time', { dateTime: m.created_at, title: fullDate(m.created_at) }, shortWhen(m.created_at)),
          h('span', { className: 'text' }, m.id === r.message_id ? r.reported_content : m.content),
        ),
      ),
    );
    const li = h(
      'li',
      { className: 'report', dataset: { reportId: r.id, messageId: r.message_id } },
      h(
        'p',
        { className: 'reported-by' },
        person(r.reporter),
        ' reported ',
        person(r.sender),
        h('time', { dateTime: r.created_at, title: fullDate(r.created_at) }, shortWhen(r.created_at)),
      ),
      h('blockquote', { className: 'reason' }, r.reason),
      r.context.length > 0 ? context : h('p', { className: 'text' }, r.reported_content),
      r.message === null && h('p', { className: 'gone' }, 'The message has been deleted since.'),
      h(
        'div',
        { className: 'report-actions' },
        act('Dismiss', 'dismiss', `/admin/reports/${r.id}/dismiss`, 'Dismissed.'),
        r.message !== null && act('Delete message', 'delete-message', `/admin/reports/${r.id}/delete-message`, 'Message deleted.'),
        act(`Deactivate ${nameOf(r.sender)}`, 'deactivate', `/admin/users/${r.sender.id}/deactivate`, `${nameOf(r.sender)} is deactivated.`),
      ),
      outcome,
    );
    return li;
  }
}
