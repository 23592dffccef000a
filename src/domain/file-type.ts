/**
 * What a file's first bytes say it is (its "magic bytes"), whatever its name or
 * the type its uploader declared. A small table of the types a chat carries;
 * anything else is `null` (unknown), and refused unless it reads as plain text.
 */

/** How many leading bytes `sniffType` looks at. */
export const SNIFF_BYTES = 4096;

interface Signature {
  readonly mime: string;
  readonly at: number;
  readonly bytes: readonly number[];
}

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

const SIGNATURES: readonly Signature[] = [
  { mime: 'image/png', at: 0, bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { mime: 'image/jpeg', at: 0, bytes: [0xff, 0xd8, 0xff] },
  { mime: 'image/gif', at: 0, bytes: ascii('GIF87a') },
  { mime: 'image/gif', at: 0, bytes: ascii('GIF89a') },
  { mime: 'application/pdf', at: 0, bytes: ascii('%PDF-') },
  { mime: 'video/webm', at: 0, bytes: [0x1a, 0x45, 0xdf, 0xa3] },
  { mime: 'application/zip', at: 0, bytes: [0x50, 0x4b, 0x03, 0x04] },
  { mime: 'audio/mpeg', at: 0, bytes: ascii('ID3') },
  { mime: 'audio/ogg', at: 0, bytes: ascii('OggS') },
];

const matches = (data: Uint8Array, s: Signature): boolean => data.length >= s.at + s.bytes.length && s.bytes.every((b, i) => data[s.at + i] === b);
const textAt = (data: Uint8Array, at: number, text: string): boolean => matches(data, { mime: '', at, bytes: ascii(text) });

/** The type `data` (a file's first bytes, at least `SNIFF_BYTES` when the file is that long) has, or null when unknown. */
export function sniffType(data: Uint8Array): string | null {
  for (const s of SIGNATURES) if (matches(data, s)) return s.mime;
  if (textAt(data, 0, 'RIFF') && textAt(data, 8, 'WEBP')) return 'image/webp';
  if (textAt(data, 0, 'RIFF') && textAt(data, 8, 'WAVE')) return 'audio/wav';
  // ISO base media: a box size, then `ftyp` and a brand (`qt  ` is QuickTime; the rest read as MP4).
  if (textAt(data, 4, 'ftyp')) return textAt(data, 8, 'qt  ') ? 'video/quicktime' : 'video/mp4';
  return looksLikeText(data) ? 'text/plain' : null;
}

/** UTF-8 without NUL or other C0 controls than tab, line feed, form feed and carriage return (a cut multi-byte tail is allowed). */
function looksLikeText(data: Uint8Array): boolean {
  if (data.length === 0) return false;
  for (const b of data) if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(trimPartialUtf8(data));
    return true;
  } catch {
    return false;
  }
}

function trimPartialUtf8(data: Uint8Array): Uint8Array {
  let end = data.length;
  // At most 3 continuation bytes of a character cut off by the sniff window.
  for (let i = 1; i <= 3 && end - i >= 0; i++) {
    const b = data[end - i]!;
    if ((b & 0xc0) === 0x80) continue;
    if (b >= 0xc0) end -= i;
    break;
  }
  return data.subarray(0, end);
}

/** Declared types that name the same thing as a sniffed one (text types read as `text/plain`). */
const SAME_AS: Readonly<Record<string, readonly string[]>> = {
  'image/jpeg': ['image/jpeg', 'image/jpg', 'image/pjpeg'],
  'video/mp4': ['video/mp4', 'audio/mp4', 'video/x-m4v', 'audio/x-m4a'],
  'video/quicktime': ['video/quicktime', 'video/mp4'],
  'text/plain': ['text/plain', 'text/csv', 'text/markdown'],
  'audio/wav': ['audio/wav', 'audio/x-wav', 'audio/wave'],
};

/** Whether the type an uploader declared agrees with what the bytes are. */
export const declaredMatches = (declared: string, sniffed: string): boolean => (SAME_AS[sniffed] ?? [sniffed]).includes(normaliseMime(declared));

/** `Image/PNG; charset=x` is `image/png`. */
export const normaliseMime = (mime: string): string => mime.split(';')[0]!.trim().toLowerCase();

/** Images the server decodes, strips of metadata and makes a thumbnail of. */
export const PROCESSED_IMAGES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
