import net from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
  /** The server said it closes the connection (or closed it). */
  readonly closing: boolean;
}

export type RawOutcome = (
  | { readonly ok: true; readonly response: RawResponse }
  | { readonly ok: false; readonly reason: 'closed' | 'timeout' | 'error' | 'bad-response'; readonly partial: Buffer; readonly detail?: string }
) & {
  /** Sent on a connection kept alive from an earlier request (which the server may have been closing). */
  readonly reused?: boolean;
  /** Milliseconds from sending to the outcome. */
  readonly ms?: number;
};

/**
 * A minimal HTTP/1.1 client over a raw socket, for requests no well-behaved
 * client would send (any method, path bytes, header bytes, framing). One
 * request at a time; the connection is kept alive while the server allows.
 */
export class RawHttpConnection {
  private socket: net.Socket | null = null;
  private buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;
  /** Bytes that arrived while no request was waiting for them (a second answer). */
  unsolicited = Buffer.alloc(0);

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  get usable(): boolean {
    return this.socket !== null && !this.ended && !this.socket.destroyed;
  }

  private connect(): Promise<void> {
    this.buffer = Buffer.alloc(0);
    this.ended = false;
    const socket = net.connect({ host: this.host, port: this.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (socket !== this.socket) return;
      this.buffer = Buffer.concat([this.buffer, chunk]);
      if (this.wake) this.wake();
      else {
        this.unsolicited = Buffer.concat([this.unsolicited, chunk]);
        this.buffer = Buffer.alloc(0);
      }
    });
    const end = () => {
      if (socket !== this.socket) return;
      this.ended = true;
      this.wake?.();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
  }

  /** Sends the bytes of one request and reads one response. `head`: the response has no body. */
  async request(bytes: Buffer, options: { head?: boolean; timeoutMs: number }): Promise<RawOutcome> {
    const reused = this.usable;
    const started = Date.now();
    const outcome = await this.exchange(bytes, options);
    return { ...outcome, reused, ms: Date.now() - started };
  }

  private async exchange(bytes: Buffer, options: { head?: boolean; timeoutMs: number }): Promise<RawOutcome> {
    if (!this.usable) {
      try {
        await this.connect();
      } catch (error) {
        return { ok: false, reason: 'error', partial: Buffer.alloc(0), detail: String(error) };
      }
    }
    const socket = this.socket!;
    this.buffer = Buffer.alloc(0);
    const deadline = Date.now() + options.timeoutMs;
    socket.write(bytes);
    try {
      for (;;) {
        const parsed = parse(this.buffer, options.head ?? false, this.ended);
        if (parsed === 'bad') {
          this.destroy();
          return { ok: false, reason: 'bad-response', partial: this.buffer };
        }
        if (parsed) {
          this.buffer = this.buffer.subarray(parsed.consumed);
          // Anything after the response belongs to no request.
          if (this.buffer.length > 0) {
            this.unsolicited = Buffer.from(this.buffer);
            this.buffer = Buffer.alloc(0);
          }
          if (parsed.response.closing || parsed.response.status === 101) this.destroy();
          return { ok: true, response: parsed.response };
        }
        if (this.ended) {
          const partial = this.buffer;
          this.destroy();
          return { ok: false, reason: 'closed', partial };
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          const partial = this.buffer;
          this.destroy();
          return { ok: false, reason: 'timeout', partial };
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = null;
      }
    } finally {
      this.wake = null;
    }
  }

  /** Bytes that came after the last response, or while idle: an answer nobody asked for. Clears them. */
  takeStray(): Buffer {
    const stray = this.unsolicited;
    this.unsolicited = Buffer.alloc(0);
    return stray;
  }

  destroy(): void {
    this.socket?.destroy();
    this.socket = null;
    this.ended = true;
  }
}

/** One response at the start of `buf`, null when more bytes are needed, 'bad' when it is no HTTP. */
function parse(buf: Buffer, head: boolean, ended: boolean): { response: RawResponse; consumed: number } | null | 'bad' {
  let offset = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', offset);
    if (end < 0)
      return buf.length - offset > 256 * 1024 ||
        (buf.length > offset + 5 &&
          !buf
            .subarray(offset, offset + 5)
            .toString('latin1')
            .startsWith('HTTP/'))
        ? 'bad'
        : null;
    const lines = buf.subarray(offset, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/\d\.\d (\d{3})/.exec(lines[0] ?? '');
    if (!m) return 'bad';
    const status = Number(m[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) {
        const k = line.slice(0, i).trim().toLowerCase();
        const v = line.slice(i + 1).trim();
        headers.set(k, headers.has(k) ? `${headers.get(k)}, ${v}` : v);
      }
    }
    let bodyStart = end + 4;
    // Interim responses (100 Continue) come before the real one.
    if (status >= 100 && status < 200 && status !== 101) {
      offset = bodyStart;
      continue;
    }
    const closing = (headers.get('connection') ?? '').toLowerCase().includes('close');
    if (head || status === 204 || status === 304 || status === 101) {
      return { response: { status, headers, body: Buffer.alloc(0), closing }, consumed: bodyStart };
    }
    if ((headers.get('transfer-encoding') ?? '').toLowerCase().includes('chunked')) {
      const chunks: Buffer[] = [];
      let at = bodyStart;
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', at);
        if (lineEnd < 0) return null;
        const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16);
        if (!Number.isFinite(size)) return 'bad';
        if (size === 0) {
          const trailerEnd = buf.indexOf('\r\n', lineEnd + 2);
          if (trailerEnd < 0) return null;
          return { response: { status, headers, body: Buffer.concat(chunks), closing }, consumed: trailerEnd + 2 };
        }
        if (buf.length < lineEnd + 2 + size + 2) return null;
        chunks.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
    }
    const length = headers.get('content-length');
    if (length !== undefined) {
      const n = Number(length);
      if (!Number.isInteger(n) || n < 0) return 'bad';
      if (buf.length < bodyStart + n) return null;
      return { response: { status, headers, body: buf.subarray(bodyStart, bodyStart + n), closing }, consumed: bodyStart + n };
    }
    // No framing: the body runs to the end of the connection.
    if (!ended) return null;
    bodyStart = Math.min(bodyStart, buf.length);
    return { response: { status, headers, body: buf.subarray(bodyStart), closing: true }, consumed: buf.length };
  }
}
