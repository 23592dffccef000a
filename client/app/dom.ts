type Child = Node | string | null | undefined | false;

interface Props {
  readonly className?: string;
  readonly dataset?: Readonly<Record<string, string | number>>;
  readonly [property: string]: unknown;
}

/**
 * Creates an element with properties and children. Strings become text nodes,
 * so nothing a user typed is ever parsed as HTML.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  const { dataset, ...rest } = props;
  Object.assign(element, rest);
  for (const [key, value] of Object.entries(dataset ?? {})) element.dataset[key] = String(value);
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

/** Reads a named form field as trimmed text. */
export const field = (form: HTMLFormElement, name: string): string => String(new FormData(form).get(name) ?? '').trim();

export const time = (iso: string): string => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** The local calendar day of a moment, as a key that sorts and compares ("2026-12-03"). */
export const dayKey = (iso: string | Date): string => {
  const d = new Date(iso);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

const daysBefore = (now: Date, days: number) => new Date(now.getFullYear(), now.getMonth(), now.getDate() - days);

/** A day separator's label: "Today", "Yesterday", or the date (with the year when it is not this year's). */
export function dayLabel(iso: string, now = new Date()): string {
  const key = dayKey(iso);
  if (key === dayKey(now)) return 'Today';
  if (key === dayKey(daysBefore(now, 1))) return 'Yesterday';
  const d = new Date(iso);
  const year = d.getFullYear() === now.getFullYear() ? undefined : 'numeric';
  return d.toLocaleDateString([], { weekday: 'long', day: 'numeric', month: 'long', year });
}

/** When something happened, as short as still says it: the time today, the weekday within a week, else the date. */
export function shortWhen(iso: string, now = new Date()): string {
  const d = new Date(iso);
  if (dayKey(d) === dayKey(now)) return time(iso);
  if (d >= daysBefore(now, 6)) return d.toLocaleDateString([], { weekday: 'short' });
  const year = d.getFullYear() === now.getFullYear() ? undefined : '2-digit';
  return d.toLocaleDateString([], { day: 'numeric', month: 'short', year });
}

/** The full date and time, for a tooltip. */
export const fullDate = (iso: string): string => new Date(iso).toLocaleString([], { dateStyle: 'full', timeStyle: 'short' });

/** Shows `text` in a status line, styled as an error unless `kind` says it is news; '' clears it. */
export function say(element: HTMLElement, text: string, kind: 'error' | 'info' = 'error'): void {
  element.textContent = text;
  element.classList.toggle('error', text !== '' && kind === 'error');
  element.setAttribute('role', text !== '' && kind === 'error' ? 'alert' : 'status');
}
