import type { ParticipantSummary } from '../../domain/conversation.js';
import { fail, ok, type Result } from '../../domain/result.js';
import type { NewUser, User } from '../../domain/user.js';
import type { UserRepository } from '../../application/ports/user-repository.js';
import type { InMemoryStore } from './in-memory-store.js';

export class InMemoryUserRepository implements UserRepository {
  constructor(private readonly store: InMemoryStore) {}

  async create(input: NewUser, now: Date): Promise<Result<User>> {
    for (const { value } of this.store.users.values()) {
      // Uniqueness spans soft-deleted rows too, as the database's unique indexes do.
      if (value.email.toLowerCase() === input.email.toLowerCase()) return fail('EMAIL_TAKEN', 'This email is already registered');
      if (value.username.toLowerCase() === input.username.toLowerCase()) return fail('USERNAME_TAKEN', 'This username is taken');
    }
    const user: User = {
      ...input,
      email: input.email.toLowerCase(),
      id: this.store.nextId('user'),
      isActive: true,
      isStaff: false,
      isSuperuser: false,
      dateJoined: now,
      lastLogin: null,
      createdAt: now,
      updatedAt: now,
    };
    this.store.users.set(user.id, { value: user, deletedAt: null });
    return ok(user);
  }

  async findById(id: number): Promise<User | null> {
    return this.store.liveUser(id) ?? null;
  }

  async findByEmail(email: string): Promise<User | null> {
    return this.find((u) => u.email === email.toLowerCase());
  }

  async findByUsername(username: string): Promise<User | null> {
    return this.find((u) => u.username.toLowerCase() === username.toLowerCase());
  }

  async findSummaries(ids: readonly number[]): Promise<ParticipantSummary[]> {
    return ids.flatMap((id) => {
      const user = this.store.liveUser(id);
      return user ? [{ id: user.id, username: user.username }] : [];
    });
  }

  async recordLogin(id: number, at: Date): Promise<void> {
    const row = this.store.users.get(id);
    if (row) row.value = { ...row.value, lastLogin: at, updatedAt: at };
  }

  async rehashPassword(id: number, passwordHash: string, at: Date): Promise<void> {
    await this.changePassword(id, passwordHash, at);
  }

  async changePassword(id: number, passwordHash: string, at: Date): Promise<void> {
    const row = this.store.users.get(id);
    if (row) row.value = { ...row.value, passwordHash, updatedAt: at };
  }

  async softDelete(id: number, at: Date): Promise<void> {
    const row = this.store.users.get(id);
    if (row && !row.deletedAt) row.deletedAt = at;
  }

  private find(match: (u: User) => boolean): User | null {
    for (const row of this.store.users.values()) if (!row.deletedAt && match(row.value)) return row.value;
    return null;
  }
}
