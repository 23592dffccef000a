import type { ServiceIdentifier } from 'inversify';
import type pg from 'pg';
import type { Sequelize } from 'sequelize';
import type { MessageLimits } from '../application/access.js';
import type { ConversationRepository } from '../application/ports/conversation-repository.js';
import type { Broadcaster, FanoutObserver, LocalDelivery, MessageAppender } from '../application/ports/fanout.js';
import type { MessageRepository } from '../application/ports/message-repository.js';
import type { EventStream } from '../application/ports/event-stream.js';
import type { ConversationFeatures } from '../application/ports/conversation-features.js';
import type { LoginAttempts, LockoutPolicy } from '../application/ports/login-attempts.js';
import type { PresenceStore } from '../application/ports/presence-store.js';
import type { SessionRepository } from '../application/ports/session-repository.js';
import type { ProfileRepository } from '../application/ports/profile-repository.js';
import type { Clock, Logger, PasswordHasher, TokenService } from '../application/ports/services.js';
import type { UserRepository } from '../application/ports/user-repository.js';
import type { PresenceTracker } from '../application/presence-tracker.js';
import type { TypingIndicators } from '../application/typing-indicators.js';
import type { UseCases } from '../application/use-cases.js';
import type { Telemetry } from '../application/ports/telemetry.js';
import type { Config } from './config.js';
import type { FanoutEngine } from '../adapters/fanout/engine/fanout-engine.js';
import type { PushStore } from '../application/ports/push.js';
import type { EndpointCheck } from '../application/use-cases/push-subscriptions.js';
import type { Mailer } from '../application/ports/mailer.js';
import type { PasswordResetStore } from '../application/ports/password-resets.js';
import type { UploadRepository } from '../application/ports/uploads.js';
import type { FileServices } from './files.js';

/** A symbol that remembers what it resolves to. */
export type Token<T> = symbol & { readonly __resolves?: T };
const token = <T>(name: string): Token<T> => Symbol(name) as Token<T>;

export const TOKENS = {
  Config: token<Config>('Config'),
  Logger: token<Logger>('Logger'),
  Sequelize: token<Sequelize>('Sequelize'),
  PgPool: token<pg.Pool>('PgPool'),
  Clock: token<Clock>('Clock'),
  PasswordHasher: token<PasswordHasher>('PasswordHasher'),
  TokenService: token<TokenService>('TokenService'),
  MessageLimits: token<MessageLimits>('MessageLimits'),
  /** Account and abuse policies the use cases enforce. */
  Policies: token<{ readonly lockout: LockoutPolicy; readonly groupsPerUserPerHour: number }>('Policies'),
  LoginAttempts: token<LoginAttempts>('LoginAttempts'),
  SessionRepository: token<SessionRepository>('SessionRepository'),
  ProfileRepository: token<ProfileRepository>('ProfileRepository'),
  UserRepository: token<UserRepository>('UserRepository'),
  ConversationRepository: token<ConversationRepository>('ConversationRepository'),
  MessageRepository: token<MessageRepository>('MessageRepository'),
  EventStream: token<EventStream>('EventStream'),
  ConversationFeatures: token<ConversationFeatures>('ConversationFeatures'),
  MessageAppender: token<MessageAppender>('MessageAppender'),
  PresenceStore: token<PresenceStore>('PresenceStore'),
  /** This process's connections. */
  LocalDelivery: token<LocalDelivery>('LocalDelivery'),
  FanoutObservers: token<FanoutObserver[]>('FanoutObservers'),
  Broadcaster: token<Broadcaster>('Broadcaster'),
  FanoutEngine: token<FanoutEngine>('FanoutEngine'),
  TypingIndicators: token<TypingIndicators>('TypingIndicators'),
  PresenceTracker: token<PresenceTracker>('PresenceTracker'),
  UseCases: token<UseCases>('UseCases'),
  Telemetry: token<Telemetry>('Telemetry'),
  PushStore: token<PushStore>('PushStore'),
  /** The VAPID public key browsers subscribe with, and the check an endpoint must pass. */
  PushSettings: token<{ readonly publicKey: string; readonly checkEndpoint: EndpointCheck }>('PushSettings'),
  Mailer: token<Mailer>('Mailer'),
  PasswordResetStore: token<PasswordResetStore>('PasswordResetStore'),
  UploadRepository: token<UploadRepository>('UploadRepository'),
  /** Storage, image processing, signed links and upload limits. */
  Files: token<FileServices>('Files'),
} as const;

export const id = <T>(t: Token<T>): ServiceIdentifier<T> => t as ServiceIdentifier<T>;
