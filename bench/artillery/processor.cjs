// Artillery processor for the chat protocol: registers a user over REST, connects
// with its token, joins a shared open group, and measures the latency of the
// server-pushed receiveMessage (the ws engine records no latency by itself).
'use strict';

const rooms = new Map(); // one shared open group per HTTP base, per Artillery worker
let seq = 0;

const httpBase = (wsTarget) =>
  wsTarget
    .replace(/^ws/, 'http')
    .replace(/\/ws\/?$/, '')
    .replace(/\/$/, '');

async function register(base) {
  const name = `art_${process.pid}_${Date.now().toString(36)}_${++seq}`;
  const res = await fetch(`${base}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `${name}@artillery.local`, username: name, password: 'artillery-password', role: 'tenant' }),
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  return res.json();
}

async function room(base) {
  if (!rooms.has(base)) {
    rooms.set(
      base,
      (async () => {
        const [host, guest] = [await register(base), await register(base)];
        const res = await fetch(`${base}/conversations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${host.token}` },
          body: JSON.stringify({ participant_ids: [guest.user.id], title: 'artillery', is_open: true }),
        });
        if (res.status !== 201) throw new Error(`room failed: ${res.status} ${await res.text()}`);
        return (await res.json()).id;
      })(),
    );
  }
  return rooms.get(base);
}

/** connect.function: a fresh user and its token on the upgrade URL. */
function connectWithToken(wsArgs, context, done) {
  const base = httpBase(wsArgs.target);
  Promise.all([register(base), room(base)])
    .then(([user, conversationId]) => {
      wsArgs.target = `${base.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(user.token)}`;
      context.vars.userId = user.user.id;
      context.vars.conversationId = conversationId;
      done();
    })
    .catch(done);
}

/** Routes frames: acks to their waiters; receiveMessage to the latency histograms. */
function listen(context, ee) {
  if (context.vars.listening) return;
  context.vars.listening = true;
  context.vars.waiters = new Map();
  context.ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString());
    if (frame.event === 'receiveMessage') {
      const sentAt = Number(String(frame.data.content).split('|')[0]);
      if (sentAt > 0) {
        const ms = Date.now() - sentAt;
        ee.emit('histogram', frame.data.sender_id === context.vars.userId ? 'chat.own_receive_ms' : 'chat.receive_ms', ms);
        ee.emit('counter', 'chat.received', 1);
      }
      return;
    }
    const waiter = context.vars.waiters.get(frame.ack);
    if (waiter) {
      context.vars.waiters.delete(frame.ack);
      waiter(frame);
    }
  });
}

function request(context, event, data) {
  const ack = ++seq;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${event}`)), 10_000);
    context.vars.waiters.set(ack, (frame) => {
      clearTimeout(timer);
      if (frame.event === 'ack') resolve(frame.data);
      else reject(new Error(frame.error.code));
    });
    context.ws.send(JSON.stringify({ event, data, ack }));
  });
}

async function joinRoom(context, ee) {
  listen(context, ee);
  await request(context, 'joinConversation', { conversation_id: context.vars.conversationId });
}

async function sendMessage(context, ee) {
  const started = Date.now();
  // Contents differ (the count after the time): the server's duplicate guard answers a repeated send
  // without client_id with the first message, and each send here is meant to be stored.
  context.vars.sent = (context.vars.sent ?? 0) + 1;
  await request(context, 'sendMessage', { conversation_id: context.vars.conversationId, content: `${started}|${context.vars.sent}|artillery` });
  ee.emit('histogram', 'chat.ack_ms', Date.now() - started);
  ee.emit('counter', 'chat.sent', 1);
}

module.exports = { connectWithToken, joinRoom, sendMessage };
