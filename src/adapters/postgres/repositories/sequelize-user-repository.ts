import { QueryTypes, UniqueConstraintError, type Sequelize } from 'sequelize';
import type { ParticipantSummary } from '../../../domain/conversation.js';
import { fail, ok, type Result } from '../../../domain/result.js';
import type { NewUser, Role, User } from '../../../domain/user.js';
import type { UserRepository } from '../../../application/ports/user-repository.js';
import { date, dateOrNull, num } from '../database.js';

export const USER_COLUMNS = `id, email, username, password, phone_number, profile_picture, display_name, role, is_active, is_staff,
  is_superuser, date_joined, last_login, created_at, updated_at`;

type Row = Record<string, unknown>;

export const toUser = (r: Row): User => ({
  id: num(r.id),
  email: String(r.email),
  username: String(r.username),
  passwordHash: String(r.password),
  phoneNumber: (r.phone_number as string | null) ?? null,
  profilePicture: (r.profile_picture as string | null) ?? null,
  displayName: (r.display_name as string | null) ?? null,
  role: r.role as Role,
  isActive: Boolean(r.is_active),
  isStaff: Boolean(r.is_staff),
  isSuperuser: Boolean(r.is_superuser),
  dateJoined: date(r.date_joined),
  lastLogin: dateOrNull(r.last_login),
  createdAt: date(r.created_at),
  updatedAt: date(r.updated_at),
});

export class SequelizeUserRepository implements UserRepository {
  constructor(private readonly sequelize: Sequelize) {}

  async create(user: NewUser, now: Date): Promise<Result<User>> {
    try {
      const [row] = await this.sequelize.query<Row>(
        `INSERT INTO users (email, username, password, phone_number, profile_picture, role, date_joined, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7) RETURNING ${USER_COLUMNS}`,
        {
          bind: [user.email.toLowerCase(), user.username, user.passwordHash, user.phoneNumber, user.profilePicture, user.role, now],
          type: QueryTypes.SELECT,
        },
      );
      return ok(toUser(row!));
    } catch (error) {
      if (error instanceof UniqueConstraintError) {
        const constraint = String((error.parent as { constraint?: string } | undefined)?.constraint ?? '');
        return constraint.includes('email') ? fail('EMAIL_TAKEN', 'This email is already registered') : fail('USERNAME_TAKEN', 'This username is taken');
      }
      throw error;
    }
  }

  findById(id: number): Promise<User | null> {
    return this.findOne('id = $1', id);
  }

  findByEmail(email: string): Promise<User | null> {
    return this.findOne('lower(email) = lower($1)', email);
  }

  findByUsername(username: string): Promise<User | null> {
    return this.findOne('lower(username) = lower($1)', username);
  }

  async findSummaries(ids: readonly number[]): Promise<ParticipantSummary[]> {
    if (ids.length === 0) return [];
    const rows = await this.sequelize.query<Row>('SELECT id, username FROM users WHERE id = ANY($1::int[]) AND deleted_at IS NULL ORDER BY id', {
      bind: [ids],
      type: QueryTypes.SELECT,
    });
    return rows.map((r) => ({ id: num(r.id), username: String(r.username) }));
  }

  async recordLogin(id: number, at: Date): Promise<void> {
    await this.sequelize.query('UPDATE users SET last_login = $2, updated_at = $2 WHERE id = $1', { bind: [id, at] });
  }

  async rehashPassword(id: number, passwordHash: string, at: Date): Promise<void> {
    // The users trigger announces a changed password (ending every session); a re-hash of the same one says so first.
    await this.sequelize.transaction(async (transaction) => {
      await this.sequelize.query("SELECT set_config('chat.password_rehash', 'on', true)", { transaction });
      await this.sequelize.query('UPDATE users SET password = $2, updated_at = $3 WHERE id = $1', { bind: [id, passwordHash, at], transaction });
    });
  }

  async changePassword(id: number, passwordHash: string, at: Date): Promise<void> {
    await this.sequelize.query('UPDATE users SET password = $2, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL', { bind: [id, passwordHash, at] });
  }

  async softDelete(id: number, at: Date): Promise<void> {
    await this.sequelize.query('UPDATE users SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL', {
      bind: [id, at],
    });
  }

  private async findOne(where: string, value: unknown): Promise<User | null> {
    const [row] = await this.sequelize.query<Row>(`SELECT ${USER_COLUMNS} FROM users WHERE ${where} AND deleted_at IS NULL`, {
      bind: [value],
      type: QueryTypes.SELECT,
    });
    return row ? toUser(row) : null;
  }
}
