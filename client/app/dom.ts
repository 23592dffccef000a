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
