import type { Container } from 'inversify';
import type pg from 'pg';
import { Blocks } from '../application/people/blocks.js';
import { Directory } from '../application/people/directory.js';
import { Moderation } from '../application/people/moderation.js';
import type { People } from '../application/people/people.js';
import { ReportMessage } from '../application/people/report-message.js';
import { UpdateProfile } from '../application/people/update-profile.js';
import { PgModerationRepository } from '../adapters/postgres/repositories/pg-moderation-repository.js';
import { PgPeopleRepository } from '../adapters/postgres/repositories/pg-people-repository.js';
import type { Config } from './config.js';
import { resolve } from './container.js';
import { TOKENS } from './tokens.js';

/** People and safety over PostgreSQL, sharing the container's caches, fan-out and use cases. */
export function buildPeople(config: Config, pool: pg.Pool, container: Container): People {
  const people = new PgPeopleRepository(pool);
  const moderation = new PgModerationRepository(pool);
  const conversations = resolve(container, TOKENS.ConversationRepository);
  const messages = resolve(container, TOKENS.MessageRepository);
  const broadcaster = resolve(container, TOKENS.Broadcaster);
  const clock = resolve(container, TOKENS.Clock);
  const useCases = resolve(container, TOKENS.UseCases);
  return {
    directory: new Directory(people, resolve(container, TOKENS.PresenceStore), config.DIRECTORY),
    updateProfile: new UpdateProfile(people, conversations, broadcaster, clock),
    blocks: new Blocks(people, broadcaster, clock),
    reportMessage: new ReportMessage(messages, conversations, moderation, clock),
    moderation: new Moderation(
      moderation,
      people,
      resolve(container, TOKENS.UserRepository),
      messages,
      resolve(container, TOKENS.SessionRepository),
      useCases.deleteMessage,
      broadcaster,
      clock,
    ),
  };
}
