import { InMemoryConversationRepository } from '../../src/adapters/memory/in-memory-conversation-repository.js';
import { InMemoryMessageRepository } from '../../src/adapters/memory/in-memory-message-repository.js';
import { InMemoryEventStream } from '../../src/adapters/memory/in-memory-event-stream.js';
import { InMemoryStore } from '../../src/adapters/memory/in-memory-store.js';
import { InMemoryUserRepository } from '../../src/adapters/memory/in-memory-user-repository.js';
import { InMemoryProfileRepository } from '../../src/adapters/memory/in-memory-profile-repository.js';
import { InMemorySessionRepository } from '../../src/adapters/memory/in-memory-session-repository.js';
import { repositoryContract } from './repository-contract.js';

repositoryContract('in-memory', async () => {
  const store = new InMemoryStore();
  const messages = new InMemoryMessageRepository(store);
  const users = new InMemoryUserRepository(store);
  const conversations = new InMemoryConversationRepository(store);
  const sessions = new InMemorySessionRepository();
  const profiles = new InMemoryProfileRepository(users, sessions, conversations);
  return { users, conversations, messages, store: messages, sessions, profiles, events: new InMemoryEventStream(store) };
});
