import { InMemoryConversationRepository } from '../../src/adapters/memory/in-memory-conversation-repository.js';
import { InMemoryMessageRepository } from '../../src/adapters/memory/in-memory-message-repository.js';
import { InMemoryStore } from '../../src/adapters/memory/in-memory-store.js';
import { InMemoryUserRepository } from '../../src/adapters/memory/in-memory-user-repository.js';
import { repositoryContract } from './repository-contract.js';

repositoryContract('in-memory', async () => {
  const store = new InMemoryStore();
  const messages = new InMemoryMessageRepository(store);
  return {
    users: new InMemoryUserRepository(store),
    conversations: new InMemoryConversationRepository(store),
    messages,
    store: messages,
  };
});
