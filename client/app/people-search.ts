import { ChatError, type ChatClient, type PublicProfile } from '../chat-client.js';
import { avatar, nameOf, roleLabel } from './avatar.js';
import { h, say } from './dom.js';
import { searchPeople } from './people-api.js';

/** Fewer characters are not sent: the server wants a prefix (QUERY_TOO_SHORT). */
const MIN_QUERY = 2;
/** Asks once typing pauses, so a person typing a name makes a request or two, not one per key. */
const PAUSE_MS = 250;

/**
 * "Start a conversation": finds people by the start of their username or
 * display name, and calls `pick` with the one chosen.
 */
export class PeopleSearch {
  readonly element: HTMLFormElement;
  private readonly input = h('input', {
    name: 'query',
    type: 'search',
    placeholder: 'Username or name',
    autocomplete: 'off',
    ariaLabel: 'Find people by username',
  });
  private readonly results = h('ul', { className: 'people', ariaLabel: 'People found' });
  private readonly status = h('p', { className: 'status', role: 'status' });
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Answers to an older query are dropped. */
  private asked = 0;

  constructor(
    private readonly client: ChatClient,
    private readonly pick: (person: PublicProfile) => void,
  ) {
    this.element = h('form', { className: 'start', role: 'search' }, h('label', {}, 'Start a conversation', this.input), this.status, this.results);
    this.input.addEventListener('input', () => this.schedule());
    this.element.addEventListener('submit', (event) => {
      event.preventDefault();
      // Enter picks the only match, or searches at once.
      const only = this.results.querySelectorAll('li.person');
      if (only.length === 1) (only[0]!.querySelector('button') as HTMLButtonElement).click();
      else void this.search();
    });
  }

  /** Clears the query and its results. */
  reset(): void {
    this.input.value = '';
    this.results.replaceChildren();
    say(this.status, '');
  }

  /** Shows why a pick failed. */
  failed(text: string): void {
    say(this.status, text);
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.search(), PAUSE_MS);
  }

  private async search(): Promise<void> {
    const query = this.input.value.trim();
    const asked = ++this.asked;
    if ([...query].length < MIN_QUERY) {
      this.results.replaceChildren();
      say(this.status, query === '' ? '' : `Type at least ${MIN_QUERY} characters`, 'info');
      return;
    }
    try {
      const page = await searchPeople(this.client, query);
      if (asked !== this.asked) return;
      this.results.replaceChildren(...page.users.map((p) => this.item(p)));
      say(this.status, page.users.length === 0 ? `Nobody found for “${query}”` : '', 'info');
    } catch (e) {
      if (asked !== this.asked) return;
      this.results.replaceChildren();
      say(this.status, e instanceof ChatError ? e.message : String(e));
    }
  }

  private item(p: PublicProfile): HTMLLIElement {
    return h(
      'li',
      { className: 'person', dataset: { userId: p.id } },
      h(
        'button',
        { type: 'button', onclick: () => this.pick(p) },
        avatar(p),
        h('span', { className: 'name' }, nameOf(p)),
        h('span', { className: 'username' }, `@${p.username}`),
        h('span', { className: 'role', dataset: { role: p.role } }, roleLabel(p.role)),
      ),
    );
  }
}
