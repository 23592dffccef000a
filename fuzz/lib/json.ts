/**
 * A JSON model that can say what JSON.stringify cannot: duplicate keys, number
 * literals beyond a double (`9223372036854775807`, `1e999`) and any raw text.
 * Mutations work on this model; `render` turns it into the exact bytes sent.
 */

/** Text emitted as is, e.g. a number literal or deliberately broken JSON. */
export class Raw {
  constructor(readonly text: string) {}
}

/** An object as an ordered list of entries, so a key may appear twice. */
export class Obj {
  constructor(readonly entries: Array<[string, J]> = []) {}

  static of(record: Record<string, J>): Obj {
    return new Obj(Object.entries(record));
  }

  get(key: string): J | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]![0] === key) return this.entries[i]![1];
    return undefined;
  }

  has(key: string): boolean {
    return this.entries.some(([k]) => k === key);
  }

  keys(): string[] {
    return [...new Set(this.entries.map(([k]) => k))];
  }

  /** A copy with `key` set (replacing every occurrence, or appended). */
  with(key: string, value: J): Obj {
    let replaced = false;
    const entries = this.entries.flatMap(([k, v]): Array<[string, J]> => {
      if (k !== key) return [[k, v]];
      if (replaced) return [];
      replaced = true;
      return [[k, value]];
    });
    if (!replaced) entries.push([key, value]);
    return new Obj(entries);
  }

  without(key: string): Obj {
    return new Obj(this.entries.filter(([k]) => k !== key));
  }

  /** A copy with `key` appearing once more, after the existing ones. */
  duplicated(key: string, value: J): Obj {
    return new Obj([...this.entries, [key, value]]);
  }
}

/** Binary data: only Socket.IO can carry it (as an attachment). */
export type Binary = Uint8Array;

export type J = null | boolean | number | string | J[] | Obj | Raw | Binary;

/** The JSON text of a value (binary becomes a base64 string: only Socket.IO sends real bytes). */
export function render(value: J | undefined): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Raw) return value.text;
  if (value instanceof Obj) return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${render(v)}`).join(',')}}`;
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString('base64'));
  return `[${value.map(render).join(',')}]`;
}

/**
 * The value a JSON parser would build (last duplicate wins, raw literals parsed),
 * with binary kept as Buffers: what a Socket.IO client passes to `emit`.
 * Raw text that is not JSON stays a string.
 */
export function toPlain(value: J | undefined): unknown {
  if (value === undefined || value === null || typeof value !== 'object') return value;
  if (value instanceof Raw) {
    try {
      return JSON.parse(value.text);
    } catch {
      return value.text;
    }
  }
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (value instanceof Obj) {
    const out: Record<string, unknown> = {};
    // defineProperty, so a "__proto__" key stays an own property as JSON.parse makes it.
    for (const [k, v] of value.entries) Object.defineProperty(out, k, { value: toPlain(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value.map(toPlain);
}

/** True when the value holds binary data somewhere. */
export function hasBinary(value: J | undefined): boolean {
  if (value instanceof Uint8Array) return true;
  if (value instanceof Obj) return value.entries.some(([, v]) => hasBinary(v));
  if (Array.isArray(value)) return value.some(hasBinary);
  return false;
}

/** Shortens long strings for a log line, keeping the exact input elsewhere. */
export function preview(text: string, max = 600): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max / 2)}…[${text.length - max} more chars]…${text.slice(-max / 2)}`;
}
