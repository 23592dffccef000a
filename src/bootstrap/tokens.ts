import type { ServiceIdentifier } from 'inversify';
import type { Sequelize } from 'sequelize';
import type { MessageLimits } from '../application/access.js';
import type { Broadcaster } from '../application/ports/broadcaster.js';
import type { ConversationRepository } from '../application/ports/conversation-repository.js';
import type { MessageRepository } from '../application/ports/message-repository.js';
import type { Clock, Logger, PasswordHasher, TokenService } from '../application/ports/services.js';
import type { UserRepository } from '../application/ports/user-repository.js';
import type { UseCases } from '../application/use-cases.js';
import type { LocalHub } from '../adapters/realtime/local-hub.js';
import type { PgNotifyBroadcaster } from '../adapters/sequelize/pg-notify-broadcaster.js';
import type { Config } from './config.js';

/** A symbol that remembers what it resolves to. */
export type Token<T> = symbol & { readonly __resolves?: T };
const token = <T>(name: string): Token<T> => Symbol(name) as Token<T>;

export const TOKENS = {
  Config: token<Config>('Config'),
  Logger: token<Logger>('Logger'),
  Sequelize: token<Sequelize>('Sequelize'),
  Clock: token<Clock>('Clock'),
  PasswordHasher: token<PasswordHasher>('PasswordHasher'),
  TokenService: token<TokenService>('TokenService'),
  MessageLimits: token<MessageLimits>('MessageLimits'),
  UserRepository: token<UserRepository>('UserRepository'),
  ConversationRepository: token<ConversationRepository>('ConversationRepository'),
  MessageRepository: token<MessageRepository>('MessageRepository'),
  LocalHub: token<LocalHub>('LocalHub'),
  Broadcaster: token<Broadcaster>('Broadcaster'),
  PgNotifyBroadcaster: token<PgNotifyBroadcaster>('PgNotifyBroadcaster'),
  UseCases: token<UseCases>('UseCases'),
} as const;

export const id = <T>(t: Token<T>): ServiceIdentifier<T> => t as ServiceIdentifier<T>;
