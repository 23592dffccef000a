import { describe, expect, it } from 'vitest';
import { declaredMatches, sniffType } from '../../src/domain/file-type.js';
import { sanitiseFileName } from '../../src/domain/upload.js';
import { contentDisposition } from '../../src/adapters/gateway/content-disposition.js';
import { bodyLimitOf, parseRange } from '../../src/adapters/gateway/file-routes.js';
import { HmacFileLinks } from '../../src/adapters/security/hmac-file-links.js';

const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('sniffing a file’s type from its first bytes', () => {
  it.each([
    ['image/png', bytes([0x89], 'PNG\r\n\x1a\n', [0, 0, 0, 13])],
    ['image/jpeg', bytes([0xff, 0xd8, 0xff, 0xe0])],
    ['image/gif', bytes('GIF89a', [1, 0])],
    ['image/webp', bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 ')],
    ['application/pdf', bytes('%PDF-1.7\n')],
    ['video/mp4', bytes([0, 0, 0, 0x20], 'ftypisom')],
    ['video/quicktime', bytes([0, 0, 0, 0x14], 'ftypqt  ')],
    ['video/webm', bytes([0x1a, 0x45, 0xdf, 0xa3])],
    ['text/plain', Buffer.from('Leak under the sink, since Monday. Ça coule ✓\n')],
  ])('reads %s', (mime, data) => {
    expect(sniffType(data)).toBe(mime);
  });

  it('knows no type for binary junk, an empty file or HTML-looking text with a NUL', () => {
    expect(sniffType(bytes([0x00, 0x01, 0x02, 0xfe]))).toBeNull();
    expect(sniffType(Buffer.alloc(0))).toBeNull();
    expect(sniffType(bytes('<html>', [0]))).toBeNull();
  });

  it('keeps text whose last character the sniff window cut in half', () => {
    expect(sniffType(Buffer.from('héllo ✓').subarray(0, 9))).toBe('text/plain');
  });

  it('matches declared types to sniffed ones, aliases included, and nothing else', () => {
    expect(declaredMatches('image/jpg', 'image/jpeg')).toBe(true);
    expect(declaredMatches('Image/PNG', 'image/png')).toBe(true);
    expect(declaredMatches('text/csv; charset=utf-8', 'text/plain')).toBe(true);
    expect(declaredMatches('application/pdf', 'image/png')).toBe(false);
    expect(declaredMatches('image/png', 'application/pdf')).toBe(false);
    expect(declaredMatches('text/html', 'text/plain')).toBe(false);
  });
});

describe('sanitising a file name', () => {
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\me\\lease.pdf', 'lease.pdf'],
    ['photo\u202egpj.exe', 'photogpj.exe'],
    ['in\u2066voice\u2069.pdf', 'invoice.pdf'],
    ['a\u0000b\nc\r\u0007.txt', 'abc.txt'],
    ['...hidden', 'hidden'],
    ['  ', 'file'],
    ['/', 'file'],
    ['Quittance – mars 2026 🏠.pdf', 'Quittance – mars 2026 🏠.pdf'],
  ])('%j becomes %j', (raw, clean) => {
    expect(sanitiseFileName(raw)).toBe(clean);
  });

  it('shortens a long name to 200 characters, keeping its extension and whole emoji', () => {
    const name = sanitiseFileName(`${'🏠'.repeat(300)}.jpeg`);
    expect([...name].length).toBe(200);
    expect(name.endsWith('🏠.jpeg')).toBe(true);
  });
});

describe('Content-Disposition (RFC 6266)', () => {
  it('gives an ASCII fallback and the exact name as RFC 8187 UTF-8', () => {
    expect(contentDisposition('attachment', 'Bail été 2026.pdf')).toBe(
      `attachment; filename="Bail _t_ 2026.pdf"; filename*=UTF-8''Bail%20%C3%A9t%C3%A9%202026.pdf`,
    );
  });

  it('cannot be broken out of by quotes, backslashes or semicolons in the name', () => {
    const header = contentDisposition('inline', `a"; filename="evil.html\\;.png`);
    expect(header).toBe(`inline; filename="a__ filename=_evil.html__.png"; filename*=UTF-8''a%22%3B%20filename%3D%22evil.html%5C%3B.png`);
    expect(header.match(/"/g)).toHaveLength(2);
  });

  it("percent-encodes the characters RFC 8187 leaves out of attr-char (' ( ) *)", () => {
    expect(contentDisposition('attachment', "it's (1)*.txt")).toContain(`filename*=UTF-8''it%27s%20%281%29%2A.txt`);
  });
});

describe('Range requests', () => {
  it.each([
    ['bytes=0-9', { start: 0, end: 9 }],
    ['bytes=5-', { start: 5, end: 99 }],
    ['bytes=-10', { start: 90, end: 99 }],
    ['bytes=90-500', { start: 90, end: 99 }],
    ['bytes=-500', { start: 0, end: 99 }],
  ])('%s of 100 bytes', (header, range) => {
    expect(parseRange(header, 100)).toEqual(range);
  });

  it('serves the whole file for no range, several ranges or another unit, and says a range past the end cannot be served', () => {
    expect([parseRange('', 100), parseRange('bytes=0-1,5-6', 100), parseRange('items=0-1', 100), parseRange('bytes=-', 100)]).toEqual([null, null, null, null]);
    expect([parseRange('bytes=100-', 100), parseRange('bytes=9-3', 100), parseRange('bytes=-0', 100)]).toEqual([
      'unsatisfiable',
      'unsatisfiable',
      'unsatisfiable',
    ]);
  });
});

describe('signed file links', () => {
  const at = (ms: number) => new HmacFileLinks({ secret: 'k'.repeat(32), linkSeconds: 900, now: () => ms });
  const query = (url: string) => new URL(url, 'http://x').searchParams;

  it('a download link stays the same within a period and works until it expires, 15 to 30 minutes later', () => {
    const t = 1_800_000_000_000;
    const url = at(t).downloadUrl('id-1', 'original');
    expect(at(t + 1000).downloadUrl('id-1', 'original')).toBe(url);
    const q = query(url);
    const check = (ms: number) => at(ms).check('original', 'id-1', q.get('e')!, q.get('s')!);
    expect(check(t + 15 * 60_000 - 1)).toBe('ok');
    expect(check(t + 30 * 60_000)).toBe('expired');
  });

  it('a link is good only for its file, its purpose and its key', () => {
    const t = 1_800_000_000_000;
    const q = query(at(t).downloadUrl('id-1', 'thumbnail'));
    expect(at(t).check('thumbnail', 'id-1', q.get('e')!, q.get('s')!)).toBe('ok');
    expect(at(t).check('original', 'id-1', q.get('e')!, q.get('s')!)).toBe('invalid');
    expect(at(t).check('thumbnail', 'id-2', q.get('e')!, q.get('s')!)).toBe('invalid');
    expect(at(t).check('upload', 'id-1', q.get('e')!, q.get('s')!)).toBe('invalid');
    const other = new HmacFileLinks({ secret: 'j'.repeat(32), now: () => t });
    expect(other.check('thumbnail', 'id-1', q.get('e')!, q.get('s')!)).toBe('invalid');
    expect(at(t).check('thumbnail', 'id-1', String(Number(q.get('e')) + 1), q.get('s')!)).toBe('invalid');
    expect(at(t).check('thumbnail', 'id-1', q.get('e')!, 'short')).toBe('invalid');
  });
});

describe('how large a body the transports read', () => {
  const links = new HmacFileLinks({ secret: 'k'.repeat(32) });
  const id = '0b7e6f1c-3a2d-4c5e-8f90-123456789abc';
  const limits = {
    maxBodyBytes: 64 * 1024,
    maxUploadBytes: 25 * 1024 * 1024,
    uploadUrlValid: (uploadId: string, e: string, s: string) => links.check('upload', uploadId, e, s) === 'ok',
  };
  const signed = new URL(links.uploadUrl(id, new Date(Date.now() + 60_000)), 'http://x');

  it('is the upload limit only for PUT of an upload’s bytes on a valid upload URL', () => {
    expect(bodyLimitOf('PUT', signed.pathname, signed.search.slice(1), limits)).toBe(25 * 1024 * 1024);
  });

  it('is the REST limit for a forged, expired or missing signature, another method or another path', () => {
    const expired = new URL(links.uploadUrl(id, new Date(Date.now() - 1000)), 'http://x');
    const forged = signed.search.slice(1).replace(/s=./, (m) => (m === 's=A' ? 's=B' : 's=A'));
    expect([
      bodyLimitOf('PUT', signed.pathname, forged, limits),
      bodyLimitOf('PUT', expired.pathname, expired.search.slice(1), limits),
      bodyLimitOf('PUT', signed.pathname, '', limits),
      bodyLimitOf('POST', signed.pathname, signed.search.slice(1), limits),
      bodyLimitOf('PUT', `/uploads/${id}/contents`, signed.search.slice(1), limits),
      bodyLimitOf('PUT', '/uploads/0b7e6f1c-3a2d-4c5e-8f90-000000000000/content', signed.search.slice(1), limits),
    ]).toEqual(Array(6).fill(64 * 1024));
  });
});
