import { ok, type Result } from '../../domain/result.js';
import type { User } from '../../domain/user.js';
import type { UserRepository } from '../ports/user-repository.js';
import type { Clock, IssuedToken, PasswordHasher, TokenService } from '../ports/services.js';
import type { RegisterInput } from '../schemas.js';

export class RegisterUser {
  constructor(
    private readonly users: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly tokens: TokenService,
    private readonly clock: Clock,
  ) {}

  async execute(input: RegisterInput): Promise<Result<{ user: User; token: IssuedToken }>> {
    const created = await this.users.create(
      {
        email: input.email.toLowerCase(),
        username: input.username,
        passwordHash: await this.hasher.hash(input.password),
        phoneNumber: input.phone_number ?? null,
        profilePicture: input.profile_picture ?? null,
        role: input.role,
      },
      this.clock.now(),
    );
    if (!created.ok) return created;
    return ok({ user: created.value, token: this.tokens.issue(created.value.id) });
  }
}
