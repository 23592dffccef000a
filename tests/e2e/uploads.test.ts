import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import S3rver from 's3rver';
import sharp from 'sharp';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HmacFileLinks } from '../../src/adapters/security/hmac-file-links.js';
import { freePort, TEST_JWT_SECRET } from '../support/server-process.js';
import { connectSocketIo, emitWithAnswer, nextEvent } from '../support/socket-io-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { WsClient } from '../support/ws-client.js';

type U = { id: number; token: string; username: string };

const codeOf = async (res: Response): Promise<string> => ((await res.json()) as { error: { code: string } }).error.code;

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

/** A PNG whose header says `width` x `height` (a few hundred bytes: the pixel data is one row). */
async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#08f' } })
    .png()
    .toBuffer();
  // IHDR's data starts at byte 16: width, height (big-endian), then its CRC over type and data at 29.
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

/** A JPEG whose EXIF says where it was taken. */
const jpegWithGps = () =>
  sharp({ create: { width: 64, height: 48, channels: 3, background: '#c33' } })
    .jpeg()
    .withExif({
      IFD0: { Make: 'TestCam', Model: 'Leak 1' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2400/100', GPSLongitudeRef: 'E', GPSLongitude: '2/1 21/1 300/100' },
    })
    .toBuffer();

interface StorageSetup {
  readonly name: 'local' | 's3';
  env(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

const local: StorageSetup = { name: 'local', env: () => Promise.resolve({}), stop: () => Promise.resolve() };

/** s3rver, an S3-compatible server in this process, on a free port with a bucket of its own. */
function s3(): StorageSetup {
  let server: S3rver | null = null;
  let dir = '';
  return {
    name: 's3',
    async env() {
      dir = mkdtempSync(path.join(os.tmpdir(), 'chat-s3-'));
      const port = await freePort();
      server = new S3rver({ port, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: 'chat-files', configs: [] }] });
      await server.run();
      return {
        STORAGE: 's3',
        S3_BUCKET: 'chat-files',
        S3_ENDPOINT: `http://127.0.0.1:${port}`,
        S3_FORCE_PATH_STYLE: 'true',
        S3_ACCESS_KEY_ID: 'S3RVER',
        S3_SECRET_ACCESS_KEY: 'S3RVER',
      };
    },
    async stop() {
      await server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe.each([local, s3()])('files on $name storage', (storage) => {
  let server: TestServer;
  let alice: U, bob: U, eve: U;
  let conversationId: number;
  let aliceWs: WsClient, bobWs: WsClient;
  const sockets: Socket[] = [];
  const base = () => `http://127.0.0.1:${server.port}`;
  const absolute = (url: string) => (url.startsWith('/') ? `${base()}${url}` : url);

  beforeAll(async () => {
    server = await startTestServer({ ...(await storage.env()), UPLOAD_MAX_BYTES: String(1024 * 1024), UPLOAD_DAILY_QUOTA_BYTES: String(2 * 1024 * 1024) });
    [alice, bob, eve] = await Promise.all([server.http.register(), server.http.register(), server.http.register()]);
    conversationId = (await server.http.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body.id;
    [aliceWs, bobWs] = await Promise.all([WsClient.connect(server.wsUrl, alice.token), WsClient.connect(server.wsUrl, bob.token)]);
  });

  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    aliceWs?.socket.terminate();
    bobWs?.socket.terminate();
    await server?.stop();
    await storage.stop();
  });

  /** POST /uploads, then the bytes to where it says; for S3 the completion too. The answer of the step that refused, or of the last. */
  async function upload(bytes: Buffer, name: string, mime: string, user: U = alice): Promise<{ status: number; body: any; uploadId: string }> {
    const created = await server.http.post('/uploads', { name, mime_type: mime, size: bytes.length }, user.token);
    if (created.status !== 201) return { ...created, uploadId: '' };
    const { upload_id: uploadId, upload_url: url, method, headers } = created.body;
    const put = await fetch(absolute(url), { method, headers, body: bytes });
    const putBody = await put.text();
    if (storage.name === 'local') return { status: put.status, body: JSON.parse(putBody), uploadId };
    expect(put.status).toBe(200);
    const completed = await server.http.post(`/uploads/${uploadId}/complete`, {}, user.token);
    return { ...completed, uploadId };
  }

  async function sendOnWs(uploadId: string, type: string, ws = aliceWs) {
    return ws.request('sendMessage', { conversation_id: conversationId, type, content: '', attachment: { upload_id: uploadId } });
  }

  it('an upload sent on /ws reaches the other participant, who downloads the same bytes, served as a download that is never sniffed', async () => {
    const { status, uploadId } = await upload(PDF, 'lease/../../2026 ‮fdp.exe.pdf', 'application/pdf');
    expect(status).toBe(200);
    const sent = await sendOnWs(uploadId, 'file');
    expect(sent.event).toBe('ack');
    const pushed = await bobWs.event('receiveMessage', (m) => m.id === sent.data.id);
    expect(pushed.data.attachment).toMatchObject({ upload_id: uploadId, name: '2026 fdp.exe.pdf', mime_type: 'application/pdf', size: PDF.length });
    const res = await fetch(absolute(pushed.data.attachment.url));
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(PDF);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="2026 fdp.exe.pdf"; filename*=UTF-8''2026%20fdp.exe.pdf`);
    if (storage.name === 'local') {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    }
  });

  it('a file larger than a REST body (300 kB, MAX_BODY_BYTES is 64 kB) goes up and comes back whole', async () => {
    const big = Buffer.concat([PDF, Buffer.alloc(300 * 1024, 0x41)]);
    const { status, uploadId } = await upload(big, 'scan.pdf', 'application/pdf');
    expect(status).toBe(200);
    const sent = await sendOnWs(uploadId, 'file');
    const res = await fetch(absolute(sent.data.attachment.url));
    expect(Buffer.from(await res.arrayBuffer()).equals(big)).toBe(true);
  });

  it('an upload is attached over REST and over Socket.IO, and a second message with the same upload is refused', async () => {
    const first = await upload(PDF, 'a.pdf', 'application/pdf');
    const rest = await server.http.post(`/conversations/${conversationId}/messages`, { type: 'file', attachment: { upload_id: first.uploadId } }, alice.token);
    expect(rest.status).toBe(201);
    expect(rest.body.attachment.upload_id).toBe(first.uploadId);
    const again = await server.http.post(`/conversations/${conversationId}/messages`, { type: 'file', attachment: { upload_id: first.uploadId } }, alice.token);
    expect([again.status, again.body.error.code]).toEqual([409, 'UPLOAD_ALREADY_ATTACHED']);

    const second = await upload(PDF, 'b.pdf', 'application/pdf');
    const [a, b] = await Promise.all([connectSocketIo(base(), alice.token), connectSocketIo(base(), bob.token)]);
    sockets.push(a, b);
    const pushed = nextEvent(b, 'receiveMessage', (m) => m.attachment?.upload_id === second.uploadId);
    const answer = await emitWithAnswer(a, 'sendMessage', { conversation_id: conversationId, type: 'file', attachment: { upload_id: second.uploadId } });
    expect(answer).toMatchObject({ success: true, message: { attachment: { upload_id: second.uploadId, name: 'b.pdf' } } });
    const res = await fetch(absolute((await pushed).attachment.url));
    expect(Buffer.from(await res.arrayBuffer())).toEqual(PDF);
  });

  it('an outsider, an expired link and a tampered signature are refused; a participant’s token reads the file', async () => {
    const { uploadId } = await upload(PDF, 'c.pdf', 'application/pdf');
    const sent = await sendOnWs(uploadId, 'file');
    const url = new URL(absolute(sent.data.attachment.url));
    const byToken = (token: string) => fetch(`${base()}/files/${uploadId}`, { headers: { authorization: `Bearer ${token}` }, redirect: 'manual' });
    expect((await byToken(eve.token)).status).toBe(404);
    expect((await byToken(bob.token)).status).toBe(storage.name === 'local' ? 200 : 302);
    const tampered = new URL(url);
    tampered.searchParams.set('e', String(Number(url.searchParams.get('e')) + 900));
    const refusedTampered = await fetch(tampered);
    expect([refusedTampered.status, await codeOf(refusedTampered)]).toEqual([403, 'FILE_LINK_INVALID']);
    const old = new HmacFileLinks({ secret: TEST_JWT_SECRET, linkSeconds: 900, now: () => Date.now() - 3 * 3_600_000 });
    const expired = await fetch(absolute(old.downloadUrl(uploadId, 'original')));
    expect([expired.status, await codeOf(expired)]).toEqual([403, 'FILE_LINK_EXPIRED']);
    const otherFile = await fetch(`${base()}/files/${uploadId.replace(/.$/, (c) => (c === '0' ? '1' : '0'))}${url.search}`);
    expect([otherFile.status, await codeOf(otherFile)]).toEqual([403, 'FILE_LINK_INVALID']);
  });

  it('a deleted message’s file is no longer served, even on a link given before', async () => {
    const { uploadId } = await upload(PDF, 'd.pdf', 'application/pdf');
    const sent = await sendOnWs(uploadId, 'file');
    const link = absolute(sent.data.attachment.url);
    expect((await fetch(link)).status).toBe(200);
    expect((await server.http.del(`/messages/${sent.data.id}`, alice.token)).status).toBe(200);
    const res = await fetch(link);
    expect([res.status, await codeOf(res)]).toEqual([404, 'UPLOAD_NOT_FOUND']);
  });

  it('bytes of a PNG declared as a PDF, and of a PDF declared as a PNG, are refused and cannot be attached', async () => {
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#0f0' } })
      .png()
      .toBuffer();
    const pngAsPdf = await upload(png, 'x.pdf', 'application/pdf');
    expect([pngAsPdf.status, pngAsPdf.body.error.code]).toEqual([415, 'UPLOAD_TYPE_MISMATCH']);
    const pdfAsPng = await upload(PDF, 'x.png', 'image/png');
    expect([pdfAsPng.status, pdfAsPng.body.error.code]).toEqual([415, 'UPLOAD_TYPE_MISMATCH']);
    const sent = await sendOnWs(pngAsPdf.uploadId, 'file');
    // Nothing was kept of either: a send finds no bytes.
    expect([sent.event, sent.error?.code]).toEqual(['error', 'UPLOAD_INCOMPLETE']);
  });

  it('an upload over the size limit is refused before anything is stored, and so is a body longer than declared', async () => {
    const big = await server.http.post('/uploads', { name: 'big.pdf', mime_type: 'application/pdf', size: 1024 * 1024 + 1 }, alice.token);
    expect([big.status, big.body.error.code]).toEqual([413, 'UPLOAD_TOO_LARGE']);
    const created = await server.http.post('/uploads', { name: 'small.pdf', mime_type: 'application/pdf', size: 10 }, alice.token);
    expect(created.status).toBe(201);
    const put = await fetch(absolute(created.body.upload_url), { method: 'PUT', headers: created.body.headers, body: PDF });
    const completed = await server.http.post(`/uploads/${created.body.upload_id}/complete`, {}, alice.token);
    // Local: refused from Content-Length before the body is read, so nothing is there to complete. S3 refuses a PUT longer
    // than the presigned length; s3rver does not check it, so the check at completion is what refuses it here.
    const expected = { local: [413, 'UPLOAD_INCOMPLETE'], s3: [200, 'UPLOAD_TOO_LARGE'] }[storage.name];
    expect([put.status, completed.body.error.code]).toEqual(expected);
  });

  it('a day’s uploads past the quota are refused, counted per user, before any byte is sent', async () => {
    const [carol, dave] = await Promise.all([server.http.register(), server.http.register()]);
    const start = (user: U, size: number) => server.http.post('/uploads', { name: 'q.pdf', mime_type: 'application/pdf', size }, user.token);
    expect((await start(carol, 1024 * 1024)).status).toBe(201);
    expect((await start(carol, 1024 * 1024)).status).toBe(201);
    const over = await start(carol, 1);
    expect([over.status, over.body.error.code]).toEqual([413, 'UPLOAD_QUOTA_EXCEEDED']);
    expect((await start(dave, 1024 * 1024)).status).toBe(201);
  });

  it('a JPEG with GPS EXIF is served upright without any metadata, with its size and a thumbnail', async () => {
    const jpeg = await jpegWithGps();
    expect((await sharp(jpeg).metadata()).exif).toBeDefined();
    const { status, uploadId } = await upload(jpeg, 'leak.jpg', 'image/jpeg');
    expect(status).toBe(200);
    const sent = await sendOnWs(uploadId, 'image');
    expect(sent.data.attachment).toMatchObject({ mime_type: 'image/jpeg', width: 64, height: 48 });
    const served = Buffer.from(await (await fetch(absolute(sent.data.attachment.url))).arrayBuffer());
    const meta = await sharp(served).metadata();
    expect([meta.format, meta.width, meta.height, meta.exif, meta.xmp, meta.iptc]).toEqual(['jpeg', 64, 48, undefined, undefined, undefined]);
    expect(served.includes(Buffer.from('TestCam'))).toBe(false);
    const thumbnail = await fetch(absolute(sent.data.attachment.thumbnail_url));
    expect((await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata()).format).toBe('webp');
  });

  it('a 20000x20000 image bomb is refused from its header, and the server goes on serving', async () => {
    const bomb = await pngClaiming(20_000, 20_000);
    expect(bomb.length).toBeLessThan(1000);
    const before = process.memoryUsage().rss;
    const refused = await upload(bomb, 'bomb.png', 'image/png');
    expect([refused.status, refused.body.error.code]).toEqual([413, 'IMAGE_TOO_LARGE']);
    // Decoding it would take 1.2 GB; the header check takes nothing like that.
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
    expect((await server.http.get('/healthz')).status).toBe(200);
  });

  it.runIf(storage.name === 'local')('serves a byte range of a file (video seeking), and says when a range is past the end', async () => {
    const { uploadId } = await upload(PDF, 'r.pdf', 'application/pdf');
    const sent = await sendOnWs(uploadId, 'file');
    const link = absolute(sent.data.attachment.url);
    const part = await fetch(link, { headers: { range: 'bytes=5-9' } });
    expect([part.status, part.headers.get('content-range'), Buffer.from(await part.arrayBuffer()).toString()]).toEqual([
      206,
      `bytes 5-9/${PDF.length}`,
      PDF.subarray(5, 10).toString(),
    ]);
    const past = await fetch(link, { headers: { range: `bytes=${PDF.length}-` } });
    expect([past.status, past.headers.get('content-range')]).toEqual([416, `bytes */${PDF.length}`]);
  });

  it('someone else’s upload cannot be attached, and an upload cannot be attached in a conversation its uploader is not in', async () => {
    const { uploadId } = await upload(PDF, 'e.pdf', 'application/pdf');
    const byBob = await sendOnWs(uploadId, 'file', bobWs);
    expect([byBob.event, byBob.error?.code]).toEqual(['error', 'UPLOAD_NOT_FOUND']);
    const eveConversation = (await server.http.post('/conversations', { participant_ids: [bob.id] }, eve.token)).body.id;
    const elsewhere = await server.http.post(`/conversations/${eveConversation}/messages`, { type: 'file', attachment: { upload_id: uploadId } }, alice.token);
    expect([elsewhere.status, elsewhere.body.error.code]).toEqual([404, 'CONVERSATION_NOT_FOUND']);
    const mine = await sendOnWs(uploadId, 'file');
    expect(mine.event).toBe('ack');
  });
});
