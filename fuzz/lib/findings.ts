import { isUtf8 } from 'node:buffer';
import { preview } from './json.js';
import type { RestRequest } from './rest-requests.js';

export type Channel = 'ws' | 'rest' | 'socketio' | 'server';

/**
 * What counts as a failure of the run. `note`s are recorded and printed but
 * do not fail it (a documented property that is not about robustness).
 */
export type FindingKind =
  | 'crash'
  | 'server-error'
  | 'internal'
  | 'unanswered'
  | 'duplicate-answer'
  | 'close-code'
  | 'unexpected-close'
  | 'malformed-answer'
  | 'answer-count'
  | 'memory'
  | 'unhealthy'
  | 'conversation-broken'
  | 'error-shape'
  | 'not-verbatim'
  /** A request uWebSockets.js's native HTTP parser drops before any JavaScript runs (a documented limit of that transport). */
  | 'parser-refusal'
  /** engine.io-client sent a long-polling batch over the maxPayload the server advertised (its base64 estimate is short). */
  | 'client-sizing';

const MAX_EXAMPLES = 8;
const tagSignature = (tags: readonly string[]) => [...new Set(tags)].sort().join('|');

const NOTES: ReadonlySet<FindingKind> = new Set(['error-shape', 'not-verbatim', 'parser-refusal', 'client-sizing']);

/** One input that shows a finding, exactly as sent, and what came back. */
export interface Example {
  /** The input, readable: a frame's text, an HTTP request, a Socket.IO emit (long runs shortened). */
  readonly input: string;
  /** The exact bytes, base64, when `input` had to shorten or escape them. */
  readonly raw?: string;
  /** A Socket.IO emit exactly, as JSON (`{"$buffer": base64}` for binary), when `input` shortens it. */
  readonly exact?: string;
  readonly response: string;
  /** The mutations that built the input. */
  readonly tags: readonly string[];
  /** How to send it again, for minimisation (not part of the written report). */
  readonly replay?: Replay;
}

/** An input in a form that can be sent again, reduced, and sent again. */
export type Replay =
  | { readonly kind: 'ws'; readonly token: string; readonly frame: string }
  /** Frames without ack, one of which caused an error: each is resent with an ack. */
  | { readonly kind: 'ws-candidates'; readonly token: string; readonly frames: readonly string[] }
  | { readonly kind: 'sio'; readonly token: string; readonly event: string | number; readonly args: readonly unknown[] }
  | { readonly kind: 'http'; readonly request: RestRequest };

export interface Finding {
  readonly key: string;
  readonly channel: Channel;
  readonly kind: FindingKind;
  readonly title: string;
  readonly failure: boolean;
  count: number;
  /** The shortest example seen. */
  example: Example;
  /** A few examples with different mutations (different causes may share a group). */
  readonly examples: Example[];
  /** How often each mutation tag appeared among the examples (what they have in common points at the cause). */
  readonly tagCounts: Map<string, number>;
}

/** Findings grouped by channel, kind and a group key, each with its shortest reproduction. */
export class Findings {
  private readonly byKey = new Map<string, Finding>();

  add(channel: Channel, kind: FindingKind, group: string, title: string, example: Example): void {
    const key = `${channel}|${kind}|${group}`;
    let f = this.byKey.get(key);
    if (!f) {
      f = { key, channel, kind, title, failure: !NOTES.has(kind), count: 0, example, examples: [example], tagCounts: new Map() };
      this.byKey.set(key, f);
    } else {
      if (example.input.length < f.example.input.length) f.example = example;
      const signature = tagSignature(example.tags);
      if (f.examples.length < MAX_EXAMPLES && !f.examples.some((e) => tagSignature(e.tags) === signature)) f.examples.push(example);
    }
    f.count += 1;
    for (const t of new Set(example.tags)) f.tagCounts.set(t, (f.tagCounts.get(t) ?? 0) + 1);
  }

  list(): Finding[] {
    return [...this.byKey.values()].sort((a, b) => Number(b.failure) - Number(a.failure) || a.key.localeCompare(b.key));
  }

  get failures(): Finding[] {
    return this.list().filter((f) => f.failure);
  }

  count(kind?: FindingKind): number {
    return this.list()
      .filter((f) => kind === undefined || f.kind === kind)
      .reduce((s, f) => s + f.count, 0);
  }
}

/**
 * Bytes as one readable line: UTF-8 text with control characters escaped, or
 * `\xNN` for bytes that are not UTF-8; long runs are shortened (see `raw`).
 */
export function showBytes(bytes: Buffer, max = 600): string {
  const text = isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1').replace(/[\u0080-\u00ff]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`);
  // eslint-disable-next-line no-control-regex
  const escaped = text.replace(/[\u0000-\u001f\u007f]/g, (c) =>
    c === '\r' ? '\\r' : c === '\n' ? '\\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return preview(escaped, max);
}

/** `raw` for an example: only when the readable form is not the exact input. */
export function rawIfNeeded(bytes: Buffer, shown: string): string | undefined {
  return shown === bytes.toString('utf8') && isUtf8(bytes) ? undefined : bytes.length <= 2 * 1024 * 1024 ? bytes.toString('base64') : undefined;
}
