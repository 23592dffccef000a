import { z } from 'zod';
import { PROCESSED_IMAGES } from '../../domain/file-type.js';
import type { Result } from '../../domain/result.js';
import { UPLOAD_ID_PATTERN, type Upload } from '../../domain/upload.js';
import { actorOf } from '../../domain/user.js';
import { createUploadSchema } from '../../application/files/create-upload.js';
import type { FileAccess, FileVariant, OpenedFile } from '../../application/files/open-file.js';
import type { FileStorage } from '../../application/ports/uploads.js';
import type { UseCases } from '../../application/use-cases.js';
import { contentDisposition } from './content-disposition.js';
import { bearer, errorReply, safeDecode, type HttpHeaders, type HttpReply } from './http.js';
import type { Route, RouteContext } from './rest-routes.js';

/** The route that takes an upload's bytes, capturing the upload id. */
const UPLOAD_CONTENT_PATH = /^\/uploads\/([^/]+)\/content\/?$/;

export interface BodyLimits {
  readonly maxBodyBytes: number;
  readonly maxUploadBytes: number;
  /** Whether a query is a genuine, unexpired upload URL's for this upload id. */
  readonly uploadUrlValid: (uploadId: string, expires: string, signature: string) => boolean;
}

/**
 * The largest body a transport reads for a request: the REST limit, or the
 * upload limit for an upload's bytes on a valid signed upload URL (checked
 * here, before any byte is read, so nobody without one can make the server
 * buffer more than a REST body).
 */
export function bodyLimitOf(method: string, path: string, query: string, limits: BodyLimits): number {
  const upload = method === 'PUT' ? UPLOAD_CONTENT_PATH.exec(path) : null;
  if (!upload) return limits.maxBodyBytes;
  const q = new URLSearchParams(query);
  const valid = limits.uploadUrlValid(safeDecode(upload[1]!) ?? '', q.get('e') ?? '', q.get('s') ?? '');
  return valid ? Math.max(limits.maxBodyBytes, limits.maxUploadBytes) : limits.maxBodyBytes;
}

/** A send with `attachment: {upload_id}` may meet these (it completes a pending upload first). */
export const UPLOAD_SEND_REFUSALS = [
  'UPLOAD_NOT_FOUND',
  'UPLOAD_INCOMPLETE',
  'UPLOAD_ALREADY_ATTACHED',
  'UPLOAD_TOO_LARGE',
  'UPLOAD_SIZE_MISMATCH',
  'UPLOAD_TYPE_MISMATCH',
  'UPLOAD_TYPE_NOT_ALLOWED',
  'IMAGE_TOO_LARGE',
  'IMAGE_UNREADABLE',
] as const;

const uploadId = z.string().regex(UPLOAD_ID_PATTERN, 'must be an upload id');
const signedQuery = z.object({ e: z.string().max(12), s: z.string().max(64) });
const fileQuery = z.object({
  e: z.string().max(12).optional(),
  s: z.string().max(64).optional(),
  v: z.enum(['original', 'thumbnail']).optional(),
});

const uploadViewSchema = z
  .object({
    upload_id: z.string(),
    name: z.string().describe('Sanitised: no path, control characters or bidi overrides'),
    mime_type: z.string().describe('What the bytes are (sniffed), once complete; the declared type before'),
    size: z.number().int(),
    state: z.enum(['pending', 'complete']),
    width: z.number().int().optional(),
    height: z.number().int().optional(),
  })
  .meta({ id: 'Upload' });

const createdUploadSchema = z
  .object({
    upload_id: z.string(),
    upload_url: z.string().describe('Send the bytes here: this server (relative to the API) or a presigned object storage URL'),
    method: z.literal('PUT'),
    headers: z.record(z.string(), z.string()).describe('Headers to send with the bytes (Content-Type)'),
    expires_at: z.string(),
  })
  .meta({ id: 'CreatedUpload' });

const uploadView = (u: Upload) => ({
  upload_id: u.id,
  name: u.name,
  mime_type: u.mime ?? u.declaredMime,
  size: u.size,
  state: u.state,
  ...(u.width !== null && u.height !== null ? { width: u.width, height: u.height } : {}),
});

const reply = <T>(result: Result<T>, status: number, view: (value: T) => unknown): HttpReply =>
  result.ok ? { status, body: view(result.value) } : errorReply(result.error);

/** Files are never rendered as a page of this origin: no sniffing, no scripts, no plugins, a sandbox. */
const FILE_HEADERS: HttpHeaders = [
  ['X-Content-Type-Options', 'nosniff'],
  ['Content-Security-Policy', "default-src 'none'; sandbox"],
  ['Cross-Origin-Resource-Policy', 'cross-origin'],
  ['Cache-Control', 'private, max-age=300'],
];

/** Images, video and audio are shown in place; anything else is downloaded. */
const dispositionOf = (mime: string): 'inline' | 'attachment' =>
  PROCESSED_IMAGES.has(mime) || mime.startsWith('video/') || mime.startsWith('audio/') ? 'inline' : 'attachment';

/** Uploads and downloads (docs/API.md, "Files"). */
export function fileRoutes(u: UseCases, storage: FileStorage | null): Route[] {
  const routes: Array<Route<z.ZodType, z.ZodType>> = [
    {
      method: 'POST',
      pattern: '/uploads',
      auth: true,
      summary: 'Start an upload: where to send a file’s bytes',
      description:
        'Then send the bytes with `method` and `headers` to `upload_url`, and a message with `attachment: {upload_id}`. Refused before anything is stored when over the size limit, of a type not accepted, or over the daily quota.',
      body: createUploadSchema,
      replies: { 201: createdUploadSchema },
      refusals: ['UPLOAD_TOO_LARGE', 'UPLOAD_TYPE_NOT_ALLOWED', 'UPLOAD_QUOTA_EXCEEDED'],
      handle: async (c, i) =>
        reply(await u.createUpload.execute(c.actor, i.body as z.infer<typeof createUploadSchema>), 201, (r) => ({
          upload_id: r.upload.id,
          upload_url: r.target.url,
          method: r.target.method,
          headers: r.target.headers,
          expires_at: r.expiresAt.toISOString(),
        })),
    },
    {
      method: 'PUT',
      pattern: '/uploads/:id/content',
      auth: false,
      summary: 'An upload’s bytes (local storage), to the signed `upload_url` POST /uploads gave',
      description:
        'The body is the file itself, exactly the declared size. Its type is read from its bytes and must match the declared one; images are checked against the pixel limit, stripped of metadata and given a thumbnail here.',
      query: signedQuery,
      params: [uploadId],
      replies: { 200: uploadViewSchema },
      refusals: [
        'FILE_LINK_INVALID',
        'FILE_LINK_EXPIRED',
        // Receiving the bytes completes the upload: a send's refusals, but for the upload being incomplete.
        ...UPLOAD_SEND_REFUSALS.filter((code) => code !== 'UPLOAD_INCOMPLETE'),
      ],
      handle: async (c, i) => {
        const q = i.query as z.infer<typeof signedQuery>;
        // A declared length over the upload's is refused from the headers, before the body is read.
        const declared = Number(c.request.header('content-length') || 0);
        return reply(await u.receiveUpload.execute(c.paramAs<string>(0), { expires: q.e, signature: q.s }, declared, () => c.request.body()), 200, uploadView);
      },
    },
    {
      method: 'POST',
      pattern: '/uploads/:id/complete',
      auth: true,
      summary: 'Say an upload’s bytes are in object storage (S3), so they are checked now',
      description: 'Optional: a send naming a pending upload completes it first. Local uploads complete when their bytes arrive.',
      params: [uploadId],
      replies: { 200: uploadViewSchema },
      refusals: [
        'UPLOAD_NOT_FOUND',
        'UPLOAD_INCOMPLETE',
        'UPLOAD_TOO_LARGE',
        'UPLOAD_SIZE_MISMATCH',
        'UPLOAD_TYPE_MISMATCH',
        'UPLOAD_TYPE_NOT_ALLOWED',
        'IMAGE_TOO_LARGE',
      ],
      handle: async (c) => reply(await u.completeUpload.execute(c.paramAs<string>(0), c.actor.id), 200, uploadView),
    },
    {
      method: 'GET',
      pattern: '/files/:id',
      auth: false,
      summary: 'A file: with the signed link a message view gave, or with an access token of a participant',
      description:
        'Range requests are served (206). Images, video and audio are inline, anything else an attachment; never sniffed, sandboxed. With object storage: a redirect (302) to a presigned URL.',
      query: fileQuery,
      params: [uploadId],
      replies: { 200: null, 206: null, 302: null },
      refusals: ['UPLOAD_NOT_FOUND', 'FILE_LINK_INVALID', 'FILE_LINK_EXPIRED', 'RANGE_NOT_SATISFIABLE'],
      handle: async (c, i) => {
        const q = i.query as z.infer<typeof fileQuery>;
        const variant: FileVariant = q.v ?? 'original';
        const access = await accessOf(u, c, q);
        if (!access.ok) return errorReply(access.error);
        const opened = await u.openFile.execute(c.paramAs<string>(0), variant, access.value);
        if (!opened.ok) return errorReply(opened.error);
        if (!storage) throw new Error('no file storage: the routes table was built to be described only');
        return serve(storage, opened.value, c.request.header('range'));
      },
    },
  ];
  return routes as Route[];
}

async function accessOf(u: UseCases, c: RouteContext, q: z.infer<typeof fileQuery>): Promise<Result<FileAccess>> {
  if (q.e !== undefined || q.s !== undefined) return { ok: true, value: { link: { expires: q.e ?? '', signature: q.s ?? '' } } };
  const found = await u.authenticate.execute(bearer(c.request.header('authorization')));
  if (!found.ok) return { ok: false, error: { code: 'UPLOAD_NOT_FOUND', message: 'No such file' } };
  return { ok: true, value: { actor: actorOf(found.value.user) } };
}

async function serve(storage: FileStorage, f: OpenedFile, rangeHeader: string): Promise<HttpReply> {
  const disposition = contentDisposition(dispositionOf(f.mime), f.upload.name);
  const direct = await storage.downloadUrl(f.key, { contentType: f.mime, disposition, expiresInSeconds: 300 });
  if (direct !== null) return { status: 302, headers: [['Location', direct], ...FILE_HEADERS] };
  const size = await storage.size(f.key);
  if (size === null) return errorReply({ code: 'UPLOAD_NOT_FOUND', message: 'No such file' });
  const headers: HttpHeaders = [['Content-Disposition', disposition], ['Accept-Ranges', 'bytes'], ...FILE_HEADERS];
  const range = parseRange(rangeHeader, size);
  if (range === 'unsatisfiable')
    return errorReply({ code: 'RANGE_NOT_SATISFIABLE', message: `The file has ${size} bytes`, details: { size } }, [['Content-Range', `bytes */${size}`]]);
  const data = await storage.read(f.key, range ?? undefined);
  if (data === null) return errorReply({ code: 'UPLOAD_NOT_FOUND', message: 'No such file' });
  const raw = { contentType: f.mime, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
  if (range === null || size === 0) return { status: 200, headers, raw };
  return { status: 206, headers: [...headers, ['Content-Range', `bytes ${range.start}-${range.end}/${size}`]], raw };
}

/** One range of `Range: bytes=...` (several, or another unit: the whole file, as RFC 9110 allows). */
export function parseRange(header: string, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}
