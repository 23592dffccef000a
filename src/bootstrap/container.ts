import 'reflect-metadata';
import { Container, ContainerModule, type ResolutionContext } from 'inversify';
import { AddParticipant } from '../application/use-cases/add-participant.js';
import { Authenticate } from '../application/use-cases/authenticate.js';
import { CreateConversation } from '../application/use-cases/create-conversation.js';
import { DeleteAccount } from '../application/use-cases/delete-account.js';
import { DeleteMessage } from '../application/use-cases/delete-message.js';
import { EditMessage } from '../application/use-cases/edit-message.js';
import { GetConversation } from '../application/use-cases/get-conversation.js';
import { GetMessages } from '../application/use-cases/get-messages.js';
import { JoinConversation } from '../application/use-cases/join-conversation.js';
import { LeaveConversation } from '../application/use-cases/leave-conversation.js';
import { ListConversations } from '../application/use-cases/list-conversations.js';
import { LogIn } from '../application/use-cases/log-in.js';
import { MarkRead } from '../application/use-cases/mark-read.js';
import { OpenConnection } from '../application/use-cases/open-connection.js';
import { ReadEvents } from '../application/use-cases/read-events.js';
import { RegisterUser } from '../application/use-cases/register-user.js';
import { RemoveParticipant } from '../application/use-cases/remove-participant.js';
import { SendMessage } from '../application/use-cases/send-message.js';
import { ListParticipants } from '../application/use-cases/list-participants.js';
import { SendTyping } from '../application/use-cases/send-typing.js';
import { ChangePassword } from '../application/use-cases/change-password.js';
import { LogOut } from '../application/use-cases/end-session.js';
import { ListSessions, RevokeSession } from '../application/use-cases/manage-sessions.js';
import { RefreshSession } from '../application/use-cases/refresh-session.js';
import { MuteConversation } from '../application/use-cases/mute-conversation.js';
import { PushPublicKey, SubscribePush, UnsubscribePush, type EndpointCheck } from '../application/use-cases/push-subscriptions.js';
import { InMemoryPushStore } from '../adapters/memory/in-memory-push-store.js';
import { PgPushStore } from '../adapters/postgres/push/pg-push-store.js';
import { PgUploadRepository } from '../adapters/postgres/repositories/pg-upload-repository.js';
import { InMemoryUploadRepository } from '../adapters/memory/in-memory-upload-repository.js';
import { fileServices } from './files.js';
import { AttachmentClaims } from '../application/files/attachment-claims.js';
import { CompleteUpload } from '../application/files/complete-upload.js';
import { CreateUpload } from '../application/files/create-upload.js';
import { OpenFile } from '../application/files/open-file.js';
import { ReceiveUpload } from '../application/files/receive-upload.js';
import { Sessions } from '../application/sessions.js';
import { randomUUID } from 'node:crypto';
import type { UseCases } from '../application/use-cases.js';
import type { LocalDelivery } from '../application/ports/fanout.js';
import type { Logger } from '../application/ports/services.js';
import { NO_TELEMETRY, type Telemetry } from '../application/ports/telemetry.js';
import { PresenceTracker } from '../application/presence-tracker.js';
import { TypingIndicators } from '../application/typing-indicators.js';
import { CachingConversationRepository } from '../adapters/cache/caching-conversation-repository.js';
import { CachingProfileRepository } from '../adapters/cache/caching-profile-repository.js';
import { InMemoryProfileRepository } from '../adapters/memory/in-memory-profile-repository.js';
import { PgProfileRepository } from '../adapters/postgres/repositories/pg-profile-repository.js';
import { AnnouncingAppender } from '../adapters/memory/announcing-appender.js';
import type { Broker } from '../adapters/fanout/engine/broker.js';
import { FanoutEngine } from '../adapters/fanout/engine/fanout-engine.js';
import { ConnectionRegistry } from '../adapters/gateway/connection-registry.js';
import type { ServerDatabase } from './database.js';
import { InMemoryConversationRepository } from '../adapters/memory/in-memory-conversation-repository.js';
import { InMemoryLoginAttempts } from '../adapters/memory/in-memory-login-attempts.js';
import { InMemorySessionRepository } from '../adapters/memory/in-memory-session-repository.js';
import { InMemoryMessageRepository } from '../adapters/memory/in-memory-message-repository.js';
import { InMemoryEventStream } from '../adapters/memory/in-memory-event-stream.js';
import { InMemoryPresenceStore } from '../adapters/memory/in-memory-presence-store.js';
import { InMemoryStore } from '../adapters/memory/in-memory-store.js';
import { InMemoryUserRepository } from '../adapters/memory/in-memory-user-repository.js';
import { MessageWriter } from '../adapters/postgres/write-path/message-writer.js';
import { encodeMessageChunks } from '../adapters/fanout/engine/notification-codec.js';
import { PgPresenceStore } from '../adapters/postgres/presence/pg-presence-store.js';
import { JoseTokenService } from '../adapters/security/jose-token-service.js';
import { Argon2PasswordHasher } from '../adapters/security/password-hasher.js';
import { SequelizeConversationRepository } from '../adapters/postgres/repositories/sequelize-conversation-repository.js';
import { SequelizeLoginAttempts } from '../adapters/postgres/repositories/sequelize-login-attempts.js';
import { SequelizeSessionRepository } from '../adapters/postgres/repositories/sequelize-session-repository.js';
import { SequelizeMessageRepository } from '../adapters/postgres/repositories/sequelize-message-repository.js';
import { PgEventStream } from '../adapters/postgres/repositories/pg-event-stream.js';
import { PgMessageSearch } from '../adapters/postgres/repositories/pg-message-search.js';
import { PgReactionStore } from '../adapters/postgres/repositories/pg-reaction-store.js';
import { PgReadStates } from '../adapters/postgres/repositories/pg-read-states.js';
import { PgMessageHistory } from '../adapters/postgres/repositories/pg-message-history.js';
import { PgConversationManagement } from '../adapters/postgres/repositories/pg-conversation-management.js';
import { ManageConversation } from '../application/use-cases/manage-conversation.js';
import { InMemoryConversationFeatures } from '../adapters/memory/in-memory-conversation-features.js';
import { SearchMessages } from '../application/use-cases/search-messages.js';
import { ReactToMessage } from '../application/use-cases/react-to-message.js';
import { GetMessageVersions, GetReadState } from '../application/use-cases/read-conversation-details.js';
import { SequelizeUserRepository } from '../adapters/postgres/repositories/sequelize-user-repository.js';
import { SystemClock } from '../adapters/system-clock.js';
import { InMemoryPasswordResetStore } from '../adapters/memory/in-memory-password-reset-store.js';
import { PgPasswordResetStore } from '../adapters/postgres/repositories/pg-password-reset-store.js';
import { Sha256ResetTokens } from '../adapters/security/sha256-reset-tokens.js';
import { KeyedLimiter } from '../adapters/gateway/rate-limits.js';
import { RequestPasswordReset, ResetPassword } from '../application/use-cases/password-reset.js';
import { mailerFor, resetLinkPrefix } from './mail.js';
import type { Config } from './config.js';
import { id, TOKENS, type Token } from './tokens.js';

const get = <T>(ctx: ResolutionContext, t: Token<T>): T => ctx.get(id(t));

/** Config, logger, clock and security services. */
export const coreModule = (config: Config, logger: Logger, jwtSecret: string, telemetry: Telemetry = NO_TELEMETRY) =>
  new ContainerModule(({ bind }) => {
    bind(id(TOKENS.Config)).toConstantValue(config);
    bind(id(TOKENS.Logger)).toConstantValue(logger);
    bind(id(TOKENS.Telemetry)).toConstantValue(telemetry);
    bind(id(TOKENS.Clock)).toConstantValue(new SystemClock());
    bind(id(TOKENS.Mailer)).toConstantValue(mailerFor(config, logger));
    bind(id(TOKENS.Files)).toConstantValue(fileServices(config, jwtSecret));
    bind(id(TOKENS.MessageLimits)).toConstantValue({ maxContentLength: config.MAX_CONTENT_LENGTH, duplicateWindowMs: config.DUPLICATE_WINDOW_SECONDS * 1000 });
    bind(id(TOKENS.Policies)).toConstantValue({
      // The lockout stays on whatever RATE_LIMITS says.
      lockout: {
        maxFailures: config.LOGIN_LOCKOUT_FAILURES,
        windowMs: config.LOGIN_LOCKOUT_WINDOW_MINUTES * 60_000,
        lockMs: config.LOGIN_LOCKOUT_MINUTES * 60_000,
      },
      groupsPerUserPerHour: config.RATE_LIMITS === 'on' ? config.GROUPS_PER_USER_PER_HOUR : 0,
    });
    bind(id(TOKENS.PasswordHasher)).toConstantValue(
      new Argon2PasswordHasher({ memoryCost: config.PASSWORD_HASH_MEMORY_KIB, timeCost: config.PASSWORD_HASH_TIME_COST }),
    );
    bind(id(TOKENS.TokenService))
      .toDynamicValue(
        (ctx) =>
          new JoseTokenService({
            secret: jwtSecret,
            ttlSeconds: config.JWT_TTL_SECONDS,
            userIdClaim: config.JWT_USER_ID_CLAIM ?? 'sub',
            // Setting the claim is what configures a provider sharing the secret (docs/SECURITY.md).
            sharedSecretProvider: config.JWT_USER_ID_CLAIM !== undefined,
            maxLifetimeSeconds: config.JWT_MAX_LIFETIME_SECONDS,
            ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
            ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
            ...(config.JWT_JWKS_URL ? { jwksUrl: config.JWT_JWKS_URL } : {}),
            ...(config.JWT_PUBLIC_KEY ? { publicKeyPem: config.JWT_PUBLIC_KEY } : {}),
            clock: get(ctx, TOKENS.Clock),
          }),
      )
      .inSingletonScope();
  });

export interface PostgresModuleOptions {
  readonly db: ServerDatabase;
  /** This process's name, in presence leases and notifications. */
  readonly nodeId: string;
}

/** Repositories on PostgreSQL: Sequelize for most, pg directly for the write path and presence. */
export const postgresModule = (config: Config, { db, nodeId }: PostgresModuleOptions) =>
  new ContainerModule(({ bind }) => {
    bind(id(TOKENS.Sequelize)).toConstantValue(db.sequelize);
    bind(id(TOKENS.PgPool)).toConstantValue(db.pool);
    bind(id(TOKENS.UserRepository)).toConstantValue(new SequelizeUserRepository(db.sequelize));
    bind(id(TOKENS.LoginAttempts)).toConstantValue(new SequelizeLoginAttempts(db.sequelize));
    bind(id(TOKENS.SessionRepository)).toConstantValue(new SequelizeSessionRepository(db.sequelize));
    const conversations = new CachingConversationRepository(new SequelizeConversationRepository(db.sequelize));
    bind(id(TOKENS.ConversationRepository)).toConstantValue(conversations);
    const profiles = new CachingProfileRepository(new PgProfileRepository(db.pool));
    bind(id(TOKENS.ProfileRepository)).toConstantValue(profiles);
    // The caches that fan-out keeps in step, on this process and from every other.
    bind(id(TOKENS.FanoutObservers)).toConstantValue([conversations, profiles]);
    bind(id(TOKENS.MessageRepository)).toConstantValue(new SequelizeMessageRepository(db.sequelize));
    bind(id(TOKENS.EventStream)).toConstantValue(new PgEventStream(db.sequelize));
    bind(id(TOKENS.ConversationFeatures)).toConstantValue({
      search: new PgMessageSearch(db.sequelize),
      reactions: new PgReactionStore(db.sequelize),
      readStates: new PgReadStates(db.sequelize),
      history: new PgMessageHistory(db.sequelize),
      management: new PgConversationManagement(db.sequelize),
    });
    // The write path reports each commit to the fan-out, which delivers it here at once and, on an interest broker, publishes it.
    bind(id(TOKENS.MessageAppender))
      .toDynamicValue((ctx) => {
        const fanout = get(ctx, TOKENS.FanoutEngine);
        return new MessageWriter(db.pool, {
          lanes: db.lanes,
          announce: fanout.broker.announcedByWrites
            ? { channel: config.NOTIFY_CHANNEL, encode: (lane, drafts) => encodeMessageChunks(nodeId, lane, drafts) }
            : null,
          sequence: fanout.sequence,
          onCommitted: (batch) => fanout.committed(batch),
          maxBatchSize: config.WRITE_BATCH_MAX,
          maxWaitMs: config.WRITE_BATCH_WAIT_MS,
          maxQueued: config.WRITE_QUEUE_MAX,
          logger: get(ctx, TOKENS.Logger),
          telemetry: get(ctx, TOKENS.Telemetry),
        });
      })
      .inSingletonScope();
    bind(id(TOKENS.PresenceStore)).toConstantValue(new PgPresenceStore(db.pool, { nodeId, leaseMs: config.PRESENCE_LEASE_SECONDS * 1000 }));
    bind(id(TOKENS.PushStore)).toConstantValue(new PgPushStore(db.pool));
    bind(id(TOKENS.PasswordResetStore)).toConstantValue(new PgPasswordResetStore(db.pool));
    bind(id(TOKENS.UploadRepository)).toConstantValue(new PgUploadRepository(db.pool));
  });

/** This process's connections: the registry every transport registers with and fan-out delivers through. */
export const connectionsModule = (config: Config) =>
  new ContainerModule(({ bind }) => {
    bind(id(TOKENS.LocalDelivery))
      .toDynamicValue((ctx) => {
        const conversations = get(ctx, TOKENS.ConversationRepository);
        return new ConnectionRegistry({
          maxBufferedBytes: config.WS_MAX_BACKPRESSURE_BYTES,
          reloadConversations: (userId) => conversations.conversationIdsOf(userId),
          logger: get(ctx, TOKENS.Logger),
        });
      })
      .inSingletonScope();
  });

export interface FanoutModuleOptions {
  readonly nodeId: string;
  readonly lanes: number;
  readonly lanePositions: () => Promise<number[]>;
  /** The broker (BROKERS in fanout.ts builds it from FANOUT), and the database's own announcements beside it. */
  readonly broker: Broker;
  readonly notices?: Broker | null;
}

/** The fan-out engine over the chosen broker: the Broadcaster the use cases call. */
export const fanoutModule = (config: Config, o: FanoutModuleOptions) =>
  new ContainerModule(({ bind }) => {
    bind(id(TOKENS.FanoutEngine))
      .toDynamicValue((ctx) => {
        const logger = get(ctx, TOKENS.Logger);
        const delivery = get(ctx, TOKENS.LocalDelivery);
        const engine = new FanoutEngine({
          broker: o.broker,
          notices: o.notices ?? null,
          nodeId: o.nodeId,
          lanes: o.lanes,
          delivery,
          observers: get(ctx, TOKENS.FanoutObservers),
          messages: get(ctx, TOKENS.MessageRepository),
          conversations: get(ctx, TOKENS.ConversationRepository),
          lanePositions: o.lanePositions,
          gapWaitMs: config.FANOUT_GAP_WAIT_MS,
          checkMs: config.FANOUT_CHECK_MS,
          logger,
          telemetry: get(ctx, TOKENS.Telemetry),
        });
        if (delivery instanceof ConnectionRegistry) delivery.watchInterest(engine);
        return engine;
      })
      .inSingletonScope();
    bind(id(TOKENS.Broadcaster)).toDynamicValue((ctx) => get(ctx, TOKENS.FanoutEngine));
  });

/** Repositories in memory, for use-case tests. */
export const inMemoryModule = () =>
  new ContainerModule(({ bind }) => {
    const store = new InMemoryStore();
    const messages = new InMemoryMessageRepository(store);
    const users = new InMemoryUserRepository(store);
    bind(id(TOKENS.UserRepository)).toConstantValue(users);
    bind(id(TOKENS.LoginAttempts)).toConstantValue(new InMemoryLoginAttempts());
    const sessions = new InMemorySessionRepository();
    bind(id(TOKENS.SessionRepository)).toConstantValue(sessions);
    const conversations = new InMemoryConversationRepository(store);
    bind(id(TOKENS.ConversationRepository)).toConstantValue(conversations);
    bind(id(TOKENS.MessageRepository)).toConstantValue(messages);
    bind(id(TOKENS.EventStream)).toConstantValue(new InMemoryEventStream(store));
    const features = new InMemoryConversationFeatures(store);
    bind(id(TOKENS.ConversationFeatures)).toConstantValue({
      search: features,
      reactions: features,
      readStates: features,
      history: features,
      management: features,
    });
    // Stored, then announced through the fan-out (one process: the local broker).
    bind(id(TOKENS.MessageAppender))
      .toDynamicValue((ctx) => new AnnouncingAppender(messages, get(ctx, TOKENS.Broadcaster)))
      .inSingletonScope();
    bind(id(TOKENS.FanoutObservers)).toConstantValue([]);
    bind(id(TOKENS.ProfileRepository)).toConstantValue(new InMemoryProfileRepository(users, sessions, conversations));
    bind(id(TOKENS.PresenceStore)).toConstantValue(new InMemoryPresenceStore());
    bind(id(TOKENS.PushStore)).toConstantValue(new InMemoryPushStore(conversations));
    bind(id(TOKENS.PasswordResetStore)).toConstantValue(new InMemoryPasswordResetStore());
    bind(id(TOKENS.UploadRepository)).toConstantValue(new InMemoryUploadRepository());
  });

/** What fan-out delivers to on this process. */
export const deliveryModule = (delivery: LocalDelivery) =>
  new ContainerModule(({ bind }) => {
    bind(id(TOKENS.LocalDelivery)).toConstantValue(delivery);
  });

/** The use cases, built from the ports above; they carry no decorators. */
export const useCasesModule = (config: Config) =>
  new ContainerModule(({ bind }) => {
    bind(id(TOKENS.UseCases))
      .toDynamicValue((ctx): UseCases => {
        const users = get(ctx, TOKENS.UserRepository);
        const conversations = get(ctx, TOKENS.ConversationRepository);
        const messages = get(ctx, TOKENS.MessageRepository);
        const events = get(ctx, TOKENS.EventStream);
        const broadcaster = get(ctx, TOKENS.Broadcaster);
        const appender = get(ctx, TOKENS.MessageAppender);
        const presence = get(ctx, TOKENS.PresenceStore);
        const typing = get(ctx, TOKENS.TypingIndicators);
        const policies = get(ctx, TOKENS.Policies);
        const clock = get(ctx, TOKENS.Clock);
        const hasher = get(ctx, TOKENS.PasswordHasher);
        const tokens = get(ctx, TOKENS.TokenService);
        const limits = get(ctx, TOKENS.MessageLimits);
        const sessionStore = get(ctx, TOKENS.SessionRepository);
        const sessions = new Sessions(sessionStore, tokens, clock, { refreshTtlMs: config.REFRESH_TOKEN_TTL_DAYS * 86_400_000 }, randomUUID);
        const authenticate = new Authenticate(get(ctx, TOKENS.ProfileRepository), tokens, clock);
        const removeParticipant = new RemoveParticipant(conversations, broadcaster, clock);
        const push = get(ctx, TOKENS.PushStore);
        const pushSettings = get(ctx, TOKENS.PushSettings);
        const resets = get(ctx, TOKENS.PasswordResetStore);
        const resetTokens = new Sha256ResetTokens();
        const perAddressPerHour = config.RATE_LIMITS === 'on' ? config.PASSWORD_RESETS_PER_ADDRESS_PER_HOUR : 0;
        const features = get(ctx, TOKENS.ConversationFeatures);
        const uploads = get(ctx, TOKENS.UploadRepository);
        const files = get(ctx, TOKENS.Files);
        const completeUpload = new CompleteUpload(uploads, files.storage, files.images, files.policy);
        return {
          registerUser: new RegisterUser(users, hasher, sessions, clock),
          logIn: new LogIn(users, hasher, sessions, get(ctx, TOKENS.LoginAttempts), policies.lockout, clock),
          authenticate,
          refreshSession: new RefreshSession(users, sessionStore, sessions, tokens, broadcaster, clock),
          logOut: new LogOut(sessionStore, broadcaster, clock),
          listSessions: new ListSessions(sessionStore, clock),
          revokeSession: new RevokeSession(sessionStore, broadcaster, clock),
          changePassword: new ChangePassword(users, sessionStore, sessions, hasher, broadcaster, clock),
          deleteAccount: new DeleteAccount(users, sessionStore, broadcaster, clock),
          openConnection: new OpenConnection(authenticate),
          createConversation: new CreateConversation(conversations, users, broadcaster, clock, policies.groupsPerUserPerHour),
          getConversation: new GetConversation(conversations),
          listConversations: new ListConversations(conversations),
          listParticipants: new ListParticipants(conversations, presence),
          addParticipant: new AddParticipant(conversations, users, broadcaster, clock),
          removeParticipant,
          joinConversation: new JoinConversation(conversations, messages, broadcaster, presence, clock, events),
          leaveConversation: new LeaveConversation(removeParticipant),
          sendMessage: new SendMessage(conversations, appender, clock, limits, typing, new AttachmentClaims(uploads, completeUpload)),
          editMessage: new EditMessage(conversations, messages, broadcaster, clock, limits),
          deleteMessage: new DeleteMessage(conversations, messages, broadcaster, clock),
          getMessages: new GetMessages(conversations, messages, features.reactions, features.readStates),
          readEvents: new ReadEvents(conversations, events),
          markRead: new MarkRead(conversations, messages, broadcaster, clock),
          sendTyping: new SendTyping(conversations, typing),
          pushPublicKey: new PushPublicKey(pushSettings.publicKey),
          subscribePush: new SubscribePush(push, pushSettings.checkEndpoint, config.PUSH_MAX_SUBSCRIPTIONS),
          unsubscribePush: new UnsubscribePush(push),
          muteConversation: new MuteConversation(push),
          requestPasswordReset: new RequestPasswordReset(
            users,
            resets,
            resetTokens,
            get(ctx, TOKENS.Mailer),
            new KeyedLimiter(perAddressPerHour / 60, perAddressPerHour),
            {
              ttlMs: config.PASSWORD_RESET_TTL_MINUTES * 60_000,
              // Like the login lockout, this stays on whatever RATE_LIMITS says: it is what keeps a mailbox from being flooded.
              maxPerAccount: config.PASSWORD_RESETS_PER_ACCOUNT_PER_HOUR,
              accountWindowMs: 3_600_000,
              linkPrefix: resetLinkPrefix(config),
              maxPending: 100,
            },
            clock,
            get(ctx, TOKENS.Logger).child({ component: 'password-reset' }),
          ),
          resetPassword: new ResetPassword(users, resets, resetTokens, hasher, sessionStore, get(ctx, TOKENS.LoginAttempts), broadcaster, clock),
          searchMessages: new SearchMessages(conversations, features.search),
          reactToMessage: new ReactToMessage(conversations, messages, features.reactions, broadcaster, clock),
          getReadState: new GetReadState(conversations, features.readStates),
          getMessageVersions: new GetMessageVersions(conversations, messages, features.history),
          manageConversation: new ManageConversation(conversations, features.management, broadcaster, clock),
          createUpload: new CreateUpload(uploads, files.storage, files.links, clock, files.policy, randomUUID),
          completeUpload,
          receiveUpload: new ReceiveUpload(uploads, files.links, completeUpload),
          openFile: new OpenFile(uploads, messages, conversations, files.links),
        };
      })
      .inSingletonScope();
  });

/** Per-process presence and typing state, over the ports above. */
export const realtimeModule = (config: Config) =>
  new ContainerModule(({ bind }) => {
    bind(id(TOKENS.TypingIndicators))
      .toDynamicValue((ctx) => new TypingIndicators(get(ctx, TOKENS.Broadcaster), get(ctx, TOKENS.Clock)))
      .inSingletonScope();
    bind(id(TOKENS.PresenceTracker))
      .toDynamicValue(
        (ctx) =>
          new PresenceTracker(
            get(ctx, TOKENS.PresenceStore),
            get(ctx, TOKENS.Broadcaster),
            get(ctx, TOKENS.ConversationRepository),
            get(ctx, TOKENS.Clock),
            get(ctx, TOKENS.Logger).child({ component: 'presence' }),
            { graceMs: config.PRESENCE_GRACE_MS, heartbeatMs: Math.max(1000, (config.PRESENCE_LEASE_SECONDS * 1000) / 4) },
          ),
      )
      .inSingletonScope();
  });

/** Web Push: the VAPID public key and the check a subscription's endpoint must pass. */
export const pushModule = (publicKey: string, checkEndpoint: EndpointCheck) =>
  new ContainerModule(({ bind }) => {
    bind(id(TOKENS.PushSettings)).toConstantValue({ publicKey, checkEndpoint });
  });

export function buildContainer(...modules: ContainerModule[]): Container {
  const container = new Container();
  container.load(...modules);
  return container;
}

export const resolve = <T>(container: Container, t: Token<T>): T => container.get(id(t));
