import { dispatchAccessChange } from '../../../application/access-changes.js';
import type { ConversationRepository } from '../../../application/ports/conversation-repository.js';
import type {
  AccessChangeNotice,
  Audience,
  Broadcaster,
  ConversationsEvent,
  FanoutObserver,
  InterestListener,
  LocalDelivery,
  MembershipChange,
  PushEvent,
  PushEvents,
} from '../../../application/ports/fanout.js';
import type { MessageRepository } from '../../../application/ports/message-repository.js';
import type { Logger } from '../../../application/ports/services.js';
import { NO_TELEMETRY, type Telemetry } from '../../../application/ports/telemetry.js';
import type { Message } from '../../../domain/message.js';
import { serialisedMessage } from '../../../application/views.js';
import { conversationTopic, TOPIC_ALL, userTopic, type Broker, type BrokerInbound, type BrokerState } from './broker.js';
import { DeliveredIds } from './delivered-ids.js';
import {
  decode,
  encodeAccessChange,
  encodeConversationsChanged,
  encodeConversationEvent,
  encodeMembership,
  encodeMessages,
  encodeUserEvent,
  membershipChanges,
  messagesPrefix,
  type Notification,
} from './notification-codec.js';
import { Sequencer, type SequencerSource } from './sequencer.js';

/** A committed batch, as the write path reports it (see MessageWriter). */
export interface CommittedBatch {
  readonly lane: number;
  readonly previousId: number;
  readonly messages: readonly Message[];
  readonly previousByConversation: ReadonlyMap<number, number> | null;
}

export interface FanoutEngineOptions {
  readonly broker: Broker;
  /**
   * Receive-only, beside an interest broker: the database's own announcements
   * (access changes made outside the server, by the users table's trigger).
   */
  readonly notices?: Broker | null;
  /** This process's name in notifications. */
  readonly nodeId: string;
  readonly lanes: number;
  readonly delivery: LocalDelivery;
  /** Caches kept in step with membership and access changes, on this process and from every other. */
  readonly observers: readonly FanoutObserver[];
  readonly messages: Pick<MessageRepository, 'findByIds' | 'newerThan' | 'latestIds'>;
  readonly conversations: Pick<ConversationRepository, 'conversationIdsOfUsers'>;
  /** The highest id committed in each write lane (read at start and after an outage). */
  readonly lanePositions: () => Promise<number[]>;
  /** How long a batch waits for an earlier one of its sequence before that is read from the database. @default 500 */
  readonly gapWaitMs?: number;
  /**
   * Interest routing: how often the followed conversations' latest ids are
   * compared with what was delivered, so a publish lost after its commit is
   * noticed even when nothing follows it. A gap seen twice in a row is read
   * from the database. 0: never. @default 1000
   */
  readonly checkMs?: number;
  readonly logger: Logger;
  /** @default NO_TELEMETRY */
  readonly telemetry?: Telemetry;
}

export interface FanoutState {
  readonly broker: BrokerState;
  /** Messages are ordered per write lane (broadcast brokers) or per conversation (interest brokers). */
  readonly sequence: 'lane' | 'conversation';
  readonly state: 'starting' | 'live' | 'catching-up' | 'down' | 'closed';
  readonly since: string;
  readonly outages: number;
  /** Interest brokers: the conversations and users this process is subscribed for. */
  readonly following?: { readonly conversations: number; readonly users: number };
  /** Notifications dropped as malformed or foreign. */
  readonly rejected: number;
  /** Batches read from the database because their publish was late or lost. */
  readonly gapsFilled: number;
}

const CATCH_UP_PAGE = 1000;

/**
 * The fan-out engine: everything delivery across processes needs, whichever
 * broker carries it. It is the Broadcaster the use cases call, the receiver of
 * everything the broker brings, and the place this process's own commits are
 * delivered at once.
 *
 * - Messages are ordered by their sequence: the write lane (a broadcast broker
 *   carries every lane whole) or the conversation (an interest broker carries
 *   only what a process follows). Each batch says the highest id of its
 *   sequence before it; a batch ahead of what was delivered waits, and what is
 *   missing is read from PostgreSQL after `gapWaitMs` (a publish lost between
 *   commit and publish, or late). Nothing is delivered twice: each sequence
 *   delivers only ids above its cursor.
 * - After a broker outage, caches forget, memberships are reloaded and every
 *   sequence catches up from PostgreSQL before what arrived meanwhile is let
 *   through.
 * - Interest brokers: a conversation is subscribed when its first follower
 *   here arrives, from the database's latest id read just before (so what
 *   commits while the subscription is being confirmed is read back), and a
 *   periodic check finds a lost publish that nothing followed.
 * - Other events go to a conversation's topic (one conversation), a user's, or
 *   to every process (several conversations, membership, access), and are
 *   delivered when they come back from the broker, so every process sees one
 *   order per topic.
 */
export class FanoutEngine implements Broadcaster, BrokerInbound, InterestListener {
  readonly broker: Broker;
  private readonly bySequence: 'lane' | 'conversation';
  private readonly sequencer: Sequencer;
  private readonly log: Logger;
  private readonly telemetry: Telemetry;
  private readonly ownPrefix: string;
  /** Ids this process delivered at commit, so their echo is skipped before parsing. */
  private readonly ownDelivered = new DeliveredIds(50_000);
  private status: Pick<FanoutState, 'state' | 'since' | 'outages' | 'rejected' | 'gapsFilled'>;
  /** While down or catching up: what the broker brings waits here, in order. */
  private held: Array<[string, string]> | null = [];
  private catchingUp: Promise<void> = Promise.resolve();
  private checkTimer: NodeJS.Timeout | null = null;
  /** Interest routing: topics to (un)subscribe, gathered over a tick. */
  private toFollow = new Set<number>();
  private toSubscribe = new Set<string>();
  private toUnsubscribe = new Set<string>();
  private subscribing = false;
  private applying: Promise<void> = Promise.resolve();
  private users = 0;
  /** Interest routing: the latest ids seen ahead of a conversation's cursor at the last check. */
  private suspects = new Map<number, number>();
  /** Interest routing: the conversations this process's connections follow. */
  private readonly following = new Set<number>();
  /** Interest routing: baselines being read for conversations about to be followed. */
  private readonly preparing = new Map<number, Promise<void>>();

  constructor(private readonly options: FanoutEngineOptions) {
    this.broker = options.broker;
    this.bySequence = options.broker.routing === 'broadcast' ? 'lane' : 'conversation';
    this.log = options.logger.child({ component: 'fanout' });
    this.telemetry = options.telemetry ?? NO_TELEMETRY;
    this.ownPrefix = messagesPrefix(options.nodeId);
    this.status = { state: 'starting', since: new Date().toISOString(), outages: 0, rejected: 0, gapsFilled: 0 };
    const source: SequencerSource = {
      fetch: (key, afterId) => this.fetchSequence(key, afterId),
      findByIds: (ids) => options.messages.findByIds(ids),
    };
    this.sequencer = new Sequencer(source, {
      gapWaitMs: options.gapWaitMs ?? 500,
      deliver: (m) => this.deliverMessage(m),
      filled: () => {
        this.status = { ...this.status, gapsFilled: this.status.gapsFilled + 1 };
      },
      failed: (error, key) => this.log.error({ err: error, sequence: key }, 'could not read missing messages; retrying'),
    });
  }

  get sequence(): 'lane' | 'conversation' {
    return this.bySequence;
  }

  get state(): FanoutState {
    return {
      broker: this.broker.state,
      sequence: this.bySequence,
      ...this.status,
      ...(this.bySequence === 'conversation' ? { following: { conversations: this.sequencer.size, users: this.users } } : {}),
    };
  }

  get live(): boolean {
    return this.status.state === 'live';
  }

  async start(): Promise<void> {
    if (this.bySequence === 'lane') {
      const positions = await this.options.lanePositions();
      for (let lane = 0; lane < this.options.lanes; lane++) this.sequencer.open(lane, positions[lane] ?? 0);
    }
    await this.options.notices?.start({
      message: (_topic, payload) => this.notice(payload),
      rejected: (reason) => this.rejected(reason),
      down: (reason) => this.log.warn({ reason }, 'database announcements lost; reconnecting'),
      up: () => undefined,
    });
    await this.broker.start(this);
    if (this.bySequence === 'conversation') {
      // What goes to every process (membership, access, events of several conversations).
      this.toSubscribe.add(TOPIC_ALL);
      this.scheduleSubscriptions();
    }
    const checkMs = this.options.checkMs ?? 1_000;
    if (this.bySequence === 'conversation' && checkMs > 0) {
      this.checkTimer = setInterval(() => void this.check(), checkMs);
      this.checkTimer.unref();
    }
  }

  async close(): Promise<void> {
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.setState('closed');
    this.sequencer.close();
    await this.broker.close();
    await this.options.notices?.close();
    await this.catchingUp;
  }

  // ------------------------------------------------------------ Broadcaster

  async toConversation<E extends PushEvent>(conversationId: number, event: E, data: PushEvents[E], audience: Audience = {}): Promise<void> {
    await this.toConversations([conversationId], event, data, audience);
  }

  async toConversations<E extends PushEvent>(conversationIds: readonly number[], event: E, data: PushEvents[E], audience: Audience = {}): Promise<void> {
    if (conversationIds.length === 0) return;
    await this.publish(
      this.topicOf(conversationIds),
      encodeConversationEvent(this.options.nodeId, conversationIds, event, JSON.stringify(data), audience.exceptUserId ?? null),
    );
  }

  async toConversationsEach<E extends PushEvent>(events: ReadonlyArray<ConversationsEvent<E>>): Promise<void> {
    const sent: Array<Promise<void>> = [];
    for (const e of events) {
      if (e.conversationIds.length === 0) continue;
      const payload = encodeConversationEvent(this.options.nodeId, e.conversationIds, e.event, JSON.stringify(e.data), e.audience?.exceptUserId ?? null);
      sent.push(this.publish(this.topicOf(e.conversationIds), payload));
    }
    await Promise.all(sent);
  }

  async toUser<E extends PushEvent>(userId: number, event: E, data: PushEvents[E]): Promise<void> {
    await this.publish(userTopic(userId), encodeUserEvent(this.options.nodeId, userId, event, JSON.stringify(data)));
  }

  /** Every process hears of each change (their caches hold memberships): one notification per conversation and direction. */
  async membershipChanged(changes: readonly MembershipChange[]): Promise<void> {
    const groups = new Map<string, { conversation: number; added: boolean; users: number[] }>();
    for (const c of changes) {
      const key = `${c.conversationId}:${c.added}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { conversation: c.conversationId, added: c.added, users: [] }));
      group.users.push(c.userId);
    }
    // Interest routing: a process that starts following a conversation for this change delivers what comes after its head now.
    const added = [...groups.values()].filter((g) => g.added).map((g) => g.conversation);
    const heads = this.bySequence === 'conversation' && added.length > 0 ? await this.latestOrNone(added) : null;
    await Promise.all(
      [...groups.values()].map((g) =>
        this.publish(
          TOPIC_ALL,
          encodeMembership(this.options.nodeId, g.conversation, g.users, g.added, g.added && heads ? (heads.get(g.conversation) ?? 0) : null),
        ),
      ),
    );
  }

  /** This process's caches forget at once (so its next request is refused), then every process is told. */
  async accessChanged(notice: AccessChangeNotice): Promise<void> {
    for (const observer of this.options.observers) observer.accessChanged?.(notice);
    await this.publish(TOPIC_ALL, encodeAccessChange(this.options.nodeId, notice));
  }

  /** This process's caches forget at once (its next send sees the change), then every process is told. */
  async conversationsChanged(conversationIds: readonly number[]): Promise<void> {
    if (conversationIds.length === 0) return;
    this.forgetConversations(conversationIds);
    await this.publish(TOPIC_ALL, encodeConversationsChanged(this.options.nodeId, conversationIds));
  }

  private forgetConversations(conversationIds: readonly number[]): void {
    for (const id of conversationIds) for (const observer of this.options.observers) observer.conversationChanged?.(id);
  }

  private topicOf(conversationIds: readonly number[]): string {
    return conversationIds.length === 1 ? conversationTopic(conversationIds[0]!) : TOPIC_ALL;
  }

  private publish(topic: string, payload: string): Promise<void> {
    return this.broker.publish(topic, payload);
  }

  // ------------------------------------------------------------ own commits

  /**
   * A batch this process just committed: delivered here at once when its
   * sequence is up to date (else it waits for what comes before it), and, on
   * an interest broker, published to each conversation's topic.
   */
  committed(batch: CommittedBatch): void {
    if (batch.messages.length === 0) return;
    if (this.bySequence === 'lane') {
      const ids = batch.messages.map((m) => m.id);
      if (this.held === null) {
        this.sequencer.offer(batch.lane, { prev: batch.previousId, ids, rows: batch.messages });
        for (const id of ids) this.ownDelivered.add(id);
      }
      if (!this.broker.announcedByWrites) void this.publish(TOPIC_ALL, encodeMessages(this.options.nodeId, batch.lane, batch.previousId, batch.messages));
      return;
    }
    const byConversation = new Map<number, Message[]>();
    for (const m of batch.messages) {
      let list = byConversation.get(m.conversationId);
      if (!list) byConversation.set(m.conversationId, (list = []));
      list.push(m);
    }
    for (const [conversationId, messages] of byConversation) {
      const prev = batch.previousByConversation?.get(conversationId) ?? 0;
      if (this.held === null && this.sequencer.has(conversationId)) {
        this.sequencer.offer(conversationId, { prev, ids: messages.map((m) => m.id), rows: messages });
        for (const m of messages) this.ownDelivered.add(m.id);
      }
      void this.publish(conversationTopic(conversationId), encodeMessages(this.options.nodeId, batch.lane, prev, messages));
    }
  }

  // ------------------------------------------------------------ inbound

  message(topic: string, payload: string): void {
    if (this.held) {
      this.held.push([topic, payload]);
      return;
    }
    // Hot path: this process's own batch, already delivered when it committed, is skipped before parsing.
    if (payload.startsWith(this.ownPrefix)) {
      const first = Number.parseInt(payload.slice(payload.indexOf('"i":[', this.ownPrefix.length) + 5), 10);
      if (Number.isSafeInteger(first) && this.ownDelivered.has(first)) return;
    }
    const n = decode(payload);
    if (!n || !this.fits(topic, n)) return this.rejected('malformed');
    this.dispatch(n);
  }

  /** From the database's own channel only access changes are taken. */
  private notice(payload: string): void {
    const n = decode(payload);
    if (n?.t !== 'a') return this.rejected('foreign');
    dispatchAccessChange(n.notice, this.options.observers, this.options.delivery);
  }

  rejected(reason: string): void {
    this.status = { ...this.status, rejected: this.status.rejected + 1 };
    this.telemetry.fanoutRejected();
    if (this.status.rejected <= 10 || this.status.rejected % 1000 === 0)
      this.log.warn({ reason, rejected: this.status.rejected }, 'dropped a fan-out notification');
  }

  down(reason: string): void {
    if (this.status.state === 'down' || this.status.state === 'closed') return;
    this.held ??= [];
    this.status = { ...this.status, outages: this.status.outages + 1 };
    this.setState('down');
    this.telemetry.fanoutListening(false);
    this.telemetry.fanoutOutage();
    this.log.warn({ reason, broker: this.broker.name }, 'fan-out broker lost; holding until it is back');
  }

  /** Connected, or back from an outage: resync, catch up from the database, then let through what was held. */
  up(): void {
    if (this.status.state === 'closed') return;
    const first = this.status.state === 'starting';
    this.setState('catching-up');
    const started = Date.now();
    this.catchingUp = this.catchingUp
      .then(() => (first ? 0 : this.catchUp()))
      .then((replayed) => {
        if (this.status.state !== 'catching-up') return;
        const held = this.held ?? [];
        this.held = null;
        this.setState('live');
        this.telemetry.fanoutListening(true);
        if (!first) this.log.info({ broker: this.broker.name, ms: Date.now() - started, replayed }, 'fan-out broker back; missed messages replayed');
        else this.log.info({ broker: this.broker.name, sequence: this.bySequence, node: this.options.nodeId }, 'fan-out connected');
        for (const [topic, payload] of held) this.message(topic, payload);
      })
      .catch((error: unknown) => {
        // The database is away too: try again shortly, still holding.
        this.log.error({ err: error }, 'catch-up after the fan-out outage failed; retrying');
        if (this.status.state === 'catching-up') setTimeout(() => this.up(), 1_000).unref();
      });
  }

  /** A notification's topic must match its content: a conversation's topic carries only that conversation. */
  private fits(topic: string, n: Notification): boolean {
    if (this.bySequence === 'lane' || topic === TOPIC_ALL) return n.t !== 'm' || this.bySequence === 'lane';
    if (n.t === 'm') return n.rows !== null && n.rows.length > 0 && n.rows.every((m) => conversationTopic(m.conversationId) === topic);
    if (n.t === 'c') return n.conversations.length === 1 && conversationTopic(n.conversations[0]!) === topic;
    if (n.t === 'u') return userTopic(n.user) === topic;
    return false;
  }

  private dispatch(n: Notification): void {
    const { delivery } = this.options;
    switch (n.t) {
      case 'm': {
        const key = this.bySequence === 'lane' ? n.lane : n.rows![0]!.conversationId;
        const ids = n.ids.filter((id): id is number => id !== null);
        const rows = n.rows ? n.ids.flatMap((id, k) => (id === null ? [] : [{ ...n.rows![k]!, id }])) : null;
        if (ids.length > 0) this.sequencer.offer(key, { prev: n.prev, ids, rows });
        return;
      }
      case 'c': {
        // An event of one conversation waits behind that conversation's messages still held.
        const key = this.bySequence === 'lane' ? n.conversations[0]! % this.options.lanes : n.conversations[0]!;
        const send = () => delivery.publish(n.conversations, n.event, n.dataJson, n.except ?? undefined);
        if (n.conversations.length === 1) this.sequencer.after(key, send);
        else send();
        return;
      }
      case 'u':
        return delivery.sendToUser(n.user, n.event, n.dataJson);
      case 'p':
        // Opened at the head announced with the change, before the change makes anyone here follow it.
        if (n.added && n.head !== null && this.bySequence === 'conversation' && !this.sequencer.has(n.conversation)) {
          this.sequencer.openHeld(n.conversation, n.head);
          this.expireUnfollowed([n.conversation]);
        }
        for (const change of membershipChanges(n)) {
          for (const observer of this.options.observers) observer.membershipChanged?.(change);
          delivery.membership(change);
        }
        return;
      case 'a':
        return dispatchAccessChange(n.notice, this.options.observers, delivery);
      case 'k':
        return this.forgetConversations(n.conversations);
    }
  }

  private deliverMessage(m: Message): void {
    this.telemetry.fanoutDelivered((Date.now() - m.createdAt.getTime()) / 1000);
    this.options.delivery.publish([m.conversationId], 'receiveMessage', serialisedMessage(m).json);
  }

  /** The messages of one sequence after `afterId`, oldest first, as far as this process follows them. */
  private async fetchSequence(key: number, afterId: number): Promise<Message[]> {
    const conversationIds =
      this.bySequence === 'lane' ? this.options.delivery.followedConversationIds().filter((id) => id % this.options.lanes === key) : [key];
    if (conversationIds.length === 0) return [];
    const found: Message[] = [];
    for (let after = afterId; ;) {
      const page = await this.options.messages.newerThan([{ conversationIds, afterId: after }], CATCH_UP_PAGE);
      found.push(...page);
      if (page.length < CATCH_UP_PAGE) return found;
      after = page.at(-1)!.id;
    }
  }

  private async catchUp(): Promise<number> {
    for (const observer of this.options.observers) observer.resynced?.();
    const { delivery } = this.options;
    const users = delivery.connectedUserIds();
    if (users.length > 0) {
      const byUser = await this.options.conversations.conversationIdsOfUsers(users);
      for (const userId of users) delivery.reconcile(userId, byUser.get(userId) ?? []);
    }
    if (this.bySequence === 'lane') {
      // Read before the replay: everything up to these positions is committed, so the replay covers it.
      const positions = await this.options.lanePositions();
      let replayed = 0;
      for (let lane = 0; lane < this.options.lanes; lane++) replayed += await this.sequencer.catchUp(lane, positions[lane] ?? 0);
      return replayed;
    }
    let replayed = 0;
    for (const key of this.sequencer.keys()) replayed += await this.sequencer.catchUp(key, 0);
    return replayed;
  }

  // ------------------------------------------------------------ interest

  /**
   * Called before connections start following these conversations: for those
   * this process does not follow yet, the latest ids are read now, so that
   * everything committed from here on reaches the new followers (it is read
   * back after subscribing). Resolves once the baselines are known.
   */
  async prepare(conversationIds: readonly number[]): Promise<void> {
    if (this.bySequence === 'lane') return;
    const waits: Array<Promise<void>> = [];
    const fresh: number[] = [];
    for (const id of conversationIds) {
      const pending = this.preparing.get(id);
      if (pending) waits.push(pending);
      else if (!this.sequencer.has(id)) fresh.push(id);
    }
    if (fresh.length > 0) {
      for (const id of fresh) this.sequencer.openHeld(id);
      const read = this.latestOrNone(fresh).then((latest) => {
        for (const id of fresh) {
          this.preparing.delete(id);
          // Unknown (the database did not answer): read again when subscribing.
          if (latest) this.sequencer.openHeld(id, latest.get(id) ?? 0);
        }
      });
      for (const id of fresh) this.preparing.set(id, read);
      waits.push(read);
      this.expireUnfollowed(fresh);
    }
    await Promise.all(waits);
  }

  /** Sequences opened for followers who never came (an upgrade that failed) are dropped after a while. */
  private expireUnfollowed(ids: readonly number[]): void {
    setTimeout(() => {
      for (const id of ids) if (!this.following.has(id) && this.sequencer.opening(id)) this.sequencer.drop(id);
    }, 30_000).unref();
  }

  /** Latest ids (absent: no message yet), or null when the database cannot say. */
  private async latestOrNone(ids: readonly number[]): Promise<Map<number, number> | null> {
    try {
      return await this.options.messages.latestIds(ids);
    } catch (error) {
      this.log.error({ err: error }, 'could not read the latest messages of conversations about to be followed');
      return null;
    }
  }

  conversationFollowed(conversationId: number): void {
    if (this.bySequence === 'lane') return;
    this.following.add(conversationId);
    this.toUnsubscribe.delete(conversationTopic(conversationId));
    this.toFollow.add(conversationId);
    this.scheduleSubscriptions();
  }

  conversationUnfollowed(conversationId: number): void {
    if (this.bySequence === 'lane') return;
    this.toFollow.delete(conversationId);
    this.following.delete(conversationId);
    this.sequencer.drop(conversationId);
    this.suspects.delete(conversationId);
    this.toUnsubscribe.add(conversationTopic(conversationId));
    this.scheduleSubscriptions();
  }

  userArrived(userId: number): void {
    this.users += 1;
    if (this.bySequence === 'lane') return;
    this.toUnsubscribe.delete(userTopic(userId));
    this.toSubscribe.add(userTopic(userId));
    this.scheduleSubscriptions();
  }

  userLeft(userId: number): void {
    this.users -= 1;
    if (this.bySequence === 'lane') return;
    this.toSubscribe.delete(userTopic(userId));
    this.toUnsubscribe.add(userTopic(userId));
    this.scheduleSubscriptions();
  }

  private scheduleSubscriptions(): void {
    if (this.subscribing) return;
    this.subscribing = true;
    this.applying = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.applySubscriptions());
  }

  /** Resolves once every follow and unfollow so far is in place at the broker (and the new sequences opened). */
  async subscriptionsSettled(): Promise<void> {
    while (this.subscribing) await this.applying;
  }

  /**
   * New conversations: their sequences open holding what arrives, the latest
   * ids are read, the topics subscribed, then what committed in between is
   * read back before the held batches are let through.
   */
  private async applySubscriptions(): Promise<void> {
    const follow = [...this.toFollow];
    const users = [...this.toSubscribe];
    const drop = [...this.toUnsubscribe];
    this.toFollow = new Set();
    this.toSubscribe = new Set();
    this.toUnsubscribe = new Set();
    try {
      if (drop.length > 0) await this.broker.unsubscribe(drop);
      if (users.length > 0) await this.broker.subscribe(users);
      // Conversations already delivered here need nothing; the others open at their baseline (read by `prepare`, or now).
      const fresh = follow.filter((id) => this.following.has(id) && this.sequencer.cursorOf(id) === undefined);
      if (fresh.length > 0) {
        await Promise.all(fresh.flatMap((id) => this.preparing.get(id) ?? []));
        for (const id of fresh) this.sequencer.openHeld(id);
        const unknown = fresh.filter((id) => this.sequencer.baselineOf(id) === undefined);
        if (unknown.length > 0) {
          // Without the database, the sequences open where the first message finds them, and the periodic check fills the rest.
          const latest = await this.latestOrNone(unknown);
          if (latest) for (const id of unknown) this.sequencer.openHeld(id, latest.get(id) ?? 0);
        }
        let since = new Map<number, Message[]>();
        try {
          await this.broker.subscribe(fresh.map(conversationTopic));
          since = await this.committedSince(fresh, new Map(fresh.map((id) => [id, this.sequencer.baselineOf(id) ?? 0])));
        } catch (error) {
          this.log.error({ err: error }, 'could not open newly followed conversations; the periodic check reads what they miss');
        } finally {
          for (const id of fresh) this.sequencer.release(id, since.get(id) ?? []);
        }
      }
    } catch (error) {
      this.log.error({ err: error }, 'could not change fan-out subscriptions');
    } finally {
      this.subscribing = false;
      if (this.toFollow.size + this.toSubscribe.size + this.toUnsubscribe.size > 0) this.scheduleSubscriptions();
    }
  }

  /** What committed in these conversations after the given ids, by conversation (one query per page). */
  private async committedSince(conversationIds: readonly number[], after: ReadonlyMap<number, number>): Promise<Map<number, Message[]>> {
    const found = new Map<number, Message[]>();
    const from = new Map(conversationIds.map((id) => [id, after.get(id) ?? 0]));
    for (;;) {
      const page = await this.options.messages.newerThan(
        [...from].map(([id, afterId]) => ({ conversationIds: [id], afterId })),
        CATCH_UP_PAGE,
      );
      for (const m of page) {
        let list = found.get(m.conversationId);
        if (!list) found.set(m.conversationId, (list = []));
        list.push(m);
      }
      if (page.length < CATCH_UP_PAGE) return found;
      // The page ends at some id: each conversation continues after what it got, or after that id.
      const last = page.at(-1)!.id;
      for (const id of from.keys()) from.set(id, Math.max(from.get(id)!, found.get(id)?.at(-1)?.id ?? 0, last));
    }
  }

  /** Followed conversations whose latest id stays ahead of what was delivered across two checks have lost a publish. */
  private async check(): Promise<void> {
    if (this.status.state !== 'live') return;
    const keys = this.sequencer.keys().filter((k) => this.sequencer.idle(k));
    if (keys.length === 0) return;
    let latest: Map<number, number>;
    try {
      latest = await this.options.messages.latestIds(keys);
    } catch {
      return; // the database is away: the next check tries again
    }
    const suspects = new Map<number, number>();
    for (const key of keys) {
      const top = latest.get(key) ?? 0;
      const cursor = this.sequencer.cursorOf(key);
      if (cursor === undefined || top <= cursor) continue;
      const before = this.suspects.get(key);
      if (before !== undefined && before > cursor) void this.sequencer.fill(key, before);
      else suspects.set(key, top);
    }
    this.suspects = suspects;
  }

  private setState(state: FanoutState['state']): void {
    this.status = { ...this.status, state, since: new Date().toISOString() };
  }
}
