import { h } from './dom.js';

interface Pictured {
  readonly username: string;
  readonly display_name?: string | null;
  readonly picture_url?: string | null;
}

/** The name a person goes by: their display name, else their username. */
export const nameOf = (p: Pictured): string => p.display_name || p.username;

/**
 * Only pictures this page may load (its own origin; the page's CSP refuses
 * others, and loading one would tell its host who looks at it): anyone else
 * gets their initials.
 */
const loadable = (url: string): boolean => {
  try {
    return new URL(url, location.href).origin === location.origin;
  } catch {
    return false;
  }
};

/** A round picture of the person, or their initials. */
export function avatar(p: Pictured, size: 'small' | 'large' = 'small'): HTMLElement {
  const className = `avatar ${size}`;
  if (p.picture_url && loadable(p.picture_url)) return h('img', { className, src: p.picture_url, alt: '', loading: 'lazy' });
  const initials = [...nameOf(p)].slice(0, 2).join('').toUpperCase();
  return h('span', { className, ariaHidden: 'true' }, initials);
}

/** "Landlord", "Tenant". */
export const roleLabel = (role: string | undefined): string => (role ? role[0]!.toUpperCase() + role.slice(1) : '');
