export const ROLES = ['landlord', 'tenant'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  readonly id: number;
  readonly email: string;
  readonly username: string;
  readonly passwordHash: string;
  readonly phoneNumber: string | null;
  readonly profilePicture: string | null;
  /** Shown instead of the username where set (absent on users read before it existed). */
  readonly displayName?: string | null;
  readonly role: Role;
  readonly isActive: boolean;
  readonly isStaff: boolean;
  readonly isSuperuser: boolean;
  readonly dateJoined: Date;
  readonly lastLogin: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export type NewUser = Pick<User, 'email' | 'username' | 'passwordHash' | 'phoneNumber' | 'profilePicture' | 'role'>;

/** The authenticated caller of a use case. */
export interface Actor {
  readonly id: number;
  readonly username: string;
  readonly isStaff: boolean;
}

export const actorOf = (user: User): Actor => ({
  id: user.id,
  username: user.username,
  isStaff: user.isStaff || user.isSuperuser,
});
