import { Obj, Raw, type J } from './json.js';
import type { Prng } from './prng.js';

/** A hostile value and a short tag that names it in findings. */
export interface Junk {
  readonly tag: string;
  readonly value: J;
}

const j = (tag: string, value: J): Junk => ({ tag, value });

/** Values for a field that wants a positive integer id (or a numeric string). */
export function junkId(r: Prng, valid: number): Junk {
  return r.pick<() => Junk>([
    () => j('id:0', 0),
    () => j('id:-1', -1),
    () => j('id:negative', -valid),
    () => j('id:fraction', valid + 0.5),
    () => j('id:tiny-fraction', 1e-7),
    () => j('id:2^31-1', 2147483647),
    () => j('id:2^31', 2147483648),
    () => j('id:-2^31-1', -2147483649),
    () => j('id:2^32', 4294967296),
    () => j('id:2^53-1', 2 ** 53 - 1),
    () => j('id:2^53', new Raw('9007199254740992')),
    () => j('id:2^53+1', new Raw('9007199254740993')),
    () => j('id:2^63-1', new Raw('9223372036854775807')),
    () => j('id:2^63', new Raw('9223372036854775808')),
    () => j('id:2^64', new Raw('18446744073709551616')),
    () => j('id:1e308', new Raw('1e308')),
    () => j('id:1e999', new Raw('1e999')),
    () => j('id:-0', new Raw('-0')),
    () => j('id:1.0', new Raw(`${valid}.0`)),
    () => j('id:exp-form', new Raw(`${valid}e0`)),
    () => j('id:max-value', Number.MAX_VALUE),
    () => j('id:"0"', '0'),
    () => j('id:numeric-string', String(valid)),
    () => j('id:"01"', `0${valid}`),
    () => j('id:" 1"', ` ${valid}`),
    () => j('id:"1 "', `${valid} `),
    () => j('id:"1.0"', `${valid}.0`),
    () => j('id:"1e3"', '1e3'),
    () => j('id:"+1"', `+${valid}`),
    () => j('id:"-1"', '-1'),
    () => j('id:"0x1"', '0x1'),
    () => j('id:arabic-digits', '\u0661\u0662'),
    () => j('id:fullwidth-digit', '\uff11'),
    () => j('id:"1\\0"', `${valid}\u0000`),
    () => j('id:""', ''),
    () => j('id:"NaN"', 'NaN'),
    () => j('id:"Infinity"', 'Infinity'),
    () => j('id:"2^31"', '2147483648'),
    () => j('id:"15 nines"', '999999999999999'),
    () => j('id:"16 nines"', '9999999999999999'),
    () => j('id:"2^53+1"', '9007199254740993'),
    () => j('id:"2^63"', '9223372036854775808'),
    () => j('id:"leading zeros"', `00000000000${valid}`.slice(-15)),
    () => j('id:true', true),
    () => j('id:false', false),
    () => j('id:null', null),
    () => j('id:[]', []),
    () => j('id:[id]', [valid]),
    () => j('id:{}', new Obj()),
    () => j('id:{$gt}', Obj.of({ $gt: 0 })),
    () => j('id:unknown-big', 987_654_321),
    () => j('id:valid', valid),
  ])();
}

const CONTROL = Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join('');

/** Hostile text for any string field. */
export function junkText(r: Prng): Junk {
  return r.pick<() => Junk>([
    () => j('str:empty', ''),
    () => j('str:space', ' '),
    () => j('str:whitespace', ' \t\n\r '),
    () => j('str:NUL', '\u0000'),
    () => j('str:embedded-NUL', `before\u0000after`),
    () => j('str:control-chars', CONTROL),
    () => j('str:C1', '\u007f\u0080\u009f'),
    () => j('str:lone-high-surrogate', 'x\ud800'),
    () => j('str:lone-low-surrogate', '\udc00y'),
    () => j('str:reversed-surrogates', '\udc00\ud800'),
    () => j('str:emoji', 'hi 😀👍🏽'),
    () => j('str:RTL-override', '\u202eevil'),
    () => j('str:zero-width', '\u200b\u200c\u200d'),
    () => j('str:BOM', '\ufeffhi'),
    () => j('str:line-separators', '\u2028\u2029'),
    () => j('str:noncharacters', '\ufffe\uffff'),
    () => j('str:html', '<script>alert(1)</script>'),
    () => j('str:sql', "'); DROP TABLE messages; --"),
    () => j('str:format', '%s%n%x${7*7}{{7*7}}'),
    () => j('str:backslashes', '\\u0000\\'),
    () => j('str:quotes', '"\'`'),
    () => j('str:unicode', 'ünïcödé 日本語 עברית'),
    () => j('str:astral-10000-units', '𝕏'.repeat(5000)),
    () => j('str:astral-10002-units', '𝕏'.repeat(5001)),
    () => j('str:len-64', 'a'.repeat(64)),
    () => j('str:len-65', 'a'.repeat(65)),
    () => j('str:len-128', 'a'.repeat(128)),
    () => j('str:len-129', 'a'.repeat(129)),
    () => j('str:len-255', 'a'.repeat(255)),
    () => j('str:len-256', 'a'.repeat(256)),
    () => j('str:len-2049', 'a'.repeat(2049)),
    () => j('str:len-10000', 'a'.repeat(10_000)),
    () => j('str:len-10001', 'a'.repeat(10_001)),
    () => j('str:len-30000', 'b'.repeat(30_000)),
    () => j('str:len-60000', 'c'.repeat(60_000)),
    () => j('str:len-10000+NUL', `${'a'.repeat(9_999)}\u0000`),
    () => j('str:many-NUL', '\u0000'.repeat(500)),
    () => j('str:many-surrogates', '\ud800'.repeat(500)),
    () => j('str:ordinary', `hello ${r.int(0, 1e6)}`),
  ])();
}

/** Hostile URLs, for attachment and profile picture fields. */
export function junkUrl(r: Prng): Junk {
  return r.pick<() => Junk>([
    () => j('url:https', 'https://cdn.example.com/a.png'),
    () => j('url:javascript', 'javascript:alert(1)'),
    () => j('url:file', 'file:///etc/passwd'),
    () => j('url:data', 'data:text/html,<script>alert(1)</script>'),
    () => j('url:scheme-only', 'https://'),
    () => j('url:upper-case', 'HTTPS://EXAMPLE.COM/A'),
    () => j('url:ipv6', 'http://[::1]:80/x'),
    () => j('url:protocol-relative', '//example.com/a'),
    () => j('url:space', 'http://ex ample.com'),
    () => j('url:NUL', 'http://example.com/\u0000'),
    () => j('url:idn', 'https://例え.jp/画像.png'),
    () => j('url:bad-escape', 'http://example.com/%'),
    () => j('url:len-2048', `http://example.com/${'a'.repeat(2048 - 19)}`),
    () => j('url:len-2049', `http://example.com/${'a'.repeat(2049 - 19)}`),
    () => j('url:lone-surrogate', 'http://example.com/\ud800'),
    () => j('url:credentials', 'http://user:pass@example.com/'),
  ])();
}

/** A value of any type, including the awkward ones. */
export function junkValue(r: Prng, depth = 0): Junk {
  const kind = r.int(0, depth > 1 ? 3 : 7);
  switch (kind) {
    case 0:
      return junkId(r, r.int(1, 50));
    case 1:
    case 2:
      return junkText(r);
    case 3:
      return r.pick([j('val:null', null), j('val:true', true), j('val:false', false), j('val:NaN-literal', new Raw('NaN')), j('val:-0', new Raw('-0'))]);
    case 4:
      return j(
        'val:array',
        Array.from({ length: r.int(0, 4) }, () => junkValue(r, depth + 1).value),
      );
    case 5:
      return j('val:weird-keys-object', junkObject(r, depth + 1));
    case 6:
      return j('val:deep-array', deepNest(r.pick([100, 1_000, 10_000]), '[', ']'));
    default:
      return j('val:deep-object', deepNest(r.pick([100, 1_000, 5_000]), '{"a":', '}', '1'));
  }
}

/** Objects with keys that trip naive code: prototype names, empty, NUL, long. */
export function junkObject(r: Prng, depth = 0): Obj {
  const keys = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '', '\u0000', 'a'.repeat(300), '$where', 'then'];
  const o = new Obj();
  for (let i = r.int(1, 3); i > 0; i--) o.entries.push([r.pick(keys), depth > 2 ? r.int(0, 9) : junkValue(r, depth + 1).value]);
  return o;
}

/** `open` repeated n times around `inner`, as raw text (deeper than a recursive serialiser likes). */
export const deepNest = (n: number, open: string, close: string, inner = ''): Raw => new Raw(open.repeat(n) + inner + close.repeat(n));
