import { ok, type Result } from '../../domain/result.js';
import type { UserRepository } from '../ports/user-repository.js';
import type { Clock, PasswordHasher } from '../ports/services.js';
import type { RegisterInput } from '../schemas.js';
import type { Device, Sessions, SignedIn } from '../sessions.js';

/** Creates an account and signs it in on the registering device. */
export class RegisterUser {
  constructor(
    private readonly users: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly sessions: Sessions,
    private readonly clock: Clock,
  ) {}

  async execute(input: RegisterInput, device: Device): Promise<Result<SignedIn>> {
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
    return ok(await this.sessions.open(created.value, device));
  }
}
