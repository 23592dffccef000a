import 'reflect-metadata';
import { Container, ContainerModule, type ResolutionContext } from 'inversify';
import type { Sequelize } from 'sequelize';
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
import { RegisterUser } from '../application/use-cases/register-user.js';
import { RemoveParticipant } from '../application/use-cases/remove-participant.js';
import { SendMessage } from '../application/use-cases/send-message.js';
import type { UseCases } from '../application/use-cases.js';
import type { Logger } from '../application/ports/services.js';
import { InMemoryConversationRepository } from '../adapters/memory/in-memory-conversation-repository.js';
import { InMemoryMessageRepository } from '../adapters/memory/in-memory-message-repository.js';
import { InMemoryStore } from '../adapters/memory/in-memory-store.js';
import { InMemoryUserRepository } from '../adapters/memory/in-memory-user-repository.js';
import { LocalHub } from '../adapters/realtime/local-hub.js';
import { JwtTokenService } from '../adapters/security/jwt-token-service.js';
import { ScryptPasswordHasher } from '../adapters/security/scrypt-password-hasher.js';
import { SequelizeConversationRepository } from '../adapters/sequelize/sequelize-conversation-repository.js';
import { SequelizeMessageRepository } from '../adapters/sequelize/sequelize-message-repository.js';
import { SequelizeUserRepository } from '../adapters/sequelize/sequelize-user-repository.js';
import { CachingConversationRepository } from '../adapters/cache/caching-conversation-repository.js';
import { PgNotifyBroadcaster, type PgNotifyBroadcasterOptions } from '../adapters/sequelize/pg-notify-broadcaster.js';
import { SystemClock } from '../adapters/system-clock.js';
import type { Config } from './config.js';
import { id, TOKENS, type Token } from './tokens.js';

const get = <T>(ctx: ResolutionContext, t: Token<T>): T => ctx.get(id(t));

/** Config, logger, clock and security services. */
export const coreModule = (config: Config, logger: Logger, jwtSecret: string) =>
  new ContainerModule(({ bind }) => {
    bind(id(TOKENS.Config)).toConstantValue(config);
    bind(id(TOKENS.Logger)).toConstantValue(logger);
    bind(id(TOKENS.Clock)).toConstantValue(new SystemClock());
    bind(id(TOKENS.MessageLimits)).toConstantValue({ maxContentLength: config.MAX_CONTENT_LENGTH });
    bind(id(TOKENS.PasswordHasher)).toConstantValue(new ScryptPasswordHasher({ cost: config.PASSWORD_HASH_COST }));
    bind(id(TOKENS.TokenService))
      .toDynamicValue((ctx) => new JwtTokenService({
        secret: jwtSecret,
        ttlSeconds: config.JWT_TTL_SECONDS,
        userIdClaim: config.JWT_USER_ID_CLAIM,
        clock: get(ctx, TOKENS.Clock),
      }))
      .inSingletonScope();
  });

/** Repositories on PostgreSQL through Sequelize. */
export const sequelizeModule = (sequelize: Sequelize, config: Config) =>
  new ContainerModule(({ bind }) => {
    bind(id(TOKENS.Sequelize)).toConstantValue(sequelize);
    bind(id(TOKENS.UserRepository)).toConstantValue(new SequelizeUserRepository(sequelize));
    bind(id(TOKENS.ConversationRepository)).toConstantValue(new CachingConversationRepository(new SequelizeConversationRepository(sequelize)));
    bind(id(TOKENS.MessageRepository))
      .toDynamicValue((ctx) => new SequelizeMessageRepository(sequelize, get(ctx, TOKENS.Logger), {
        maxBatchSize: config.WRITE_BATCH_MAX,
        maxWaitMs: config.WRITE_BATCH_WAIT_MS,
        maxQueued: config.WRITE_QUEUE_MAX,
      }))
      .inSingletonScope();
  });

/** Repositories in memory, for use-case tests. */
export const inMemoryModule = () =>
  new ContainerModule(({ bind }) => {
    const store = new InMemoryStore();
    bind(id(TOKENS.UserRepository)).toConstantValue(new InMemoryUserRepository(store));
    bind(id(TOKENS.ConversationRepository)).toConstantValue(new InMemoryConversationRepository(store));
    bind(id(TOKENS.MessageRepository)).toConstantValue(new InMemoryMessageRepository(store));
  });

/** In-process fan-out only: every connection is on this process. */
export const localFanoutModule = () =>
  new ContainerModule(({ bind }) => {
    bind(id(TOKENS.LocalHub)).toConstantValue(new LocalHub());
    bind(id(TOKENS.Broadcaster)).toDynamicValue((ctx) => get(ctx, TOKENS.LocalHub)).inSingletonScope();
  });

/** Fan-out across processes over LISTEN/NOTIFY, delivering locally through the hub. */
export const postgresFanoutModule = (options: Omit<PgNotifyBroadcasterOptions, 'logger'>) =>
  new ContainerModule(({ bind }) => {
    const hub = new LocalHub();
    bind(id(TOKENS.LocalHub)).toConstantValue(hub);
    bind(id(TOKENS.PgNotifyBroadcaster))
      .toDynamicValue((ctx) => {
        const broadcaster = new PgNotifyBroadcaster(get(ctx, TOKENS.Sequelize), hub, { ...options, logger: get(ctx, TOKENS.Logger) });
        const messages = get(ctx, TOKENS.MessageRepository);
        if (messages instanceof SequelizeMessageRepository) messages.announceOn(broadcaster.channelName, options.nodeId);
        return broadcaster;
      })
      .inSingletonScope();
    bind(id(TOKENS.Broadcaster)).toDynamicValue((ctx) => get(ctx, TOKENS.PgNotifyBroadcaster)).inSingletonScope();
  });

/** The use cases, built from the ports above; they carry no decorators. */
export const useCasesModule = () =>
  new ContainerModule(({ bind }) => {
    bind(id(TOKENS.UseCases))
      .toDynamicValue((ctx): UseCases => {
        const users = get(ctx, TOKENS.UserRepository);
        const conversations = get(ctx, TOKENS.ConversationRepository);
        const messages = get(ctx, TOKENS.MessageRepository);
        const broadcaster = get(ctx, TOKENS.Broadcaster);
        const clock = get(ctx, TOKENS.Clock);
        const hasher = get(ctx, TOKENS.PasswordHasher);
        const tokens = get(ctx, TOKENS.TokenService);
        const limits = get(ctx, TOKENS.MessageLimits);
        const authenticate = new Authenticate(users, tokens);
        const removeParticipant = new RemoveParticipant(conversations, broadcaster, clock);
        return {
          registerUser: new RegisterUser(users, hasher, tokens, clock),
          logIn: new LogIn(users, hasher, tokens, clock),
          authenticate,
          deleteAccount: new DeleteAccount(users, clock),
          openConnection: new OpenConnection(authenticate, conversations),
          createConversation: new CreateConversation(conversations, users, broadcaster, clock),
          getConversation: new GetConversation(conversations),
          listConversations: new ListConversations(conversations),
          addParticipant: new AddParticipant(conversations, users, broadcaster, clock),
          removeParticipant,
          joinConversation: new JoinConversation(conversations, messages, broadcaster, clock),
          leaveConversation: new LeaveConversation(removeParticipant),
          sendMessage: new SendMessage(conversations, messages, broadcaster, clock, limits),
          editMessage: new EditMessage(conversations, messages, broadcaster, clock, limits),
          deleteMessage: new DeleteMessage(conversations, messages, broadcaster, clock),
          getMessages: new GetMessages(conversations, messages),
          markRead: new MarkRead(conversations, messages, broadcaster, clock),
        };
      })
      .inSingletonScope();
  });

export function buildContainer(...modules: ContainerModule[]): Container {
  const container = new Container();
  container.load(...modules);
  return container;
}

export const resolve = <T>(container: Container, t: Token<T>): T => container.get(id(t));
