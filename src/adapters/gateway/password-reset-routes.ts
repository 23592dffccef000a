import { z } from 'zod';
import type { UseCases } from '../../application/use-cases.js';
import { forgotPasswordSchema, resetPasswordSchema } from '../../application/schemas.js';
import { errorReply } from './http.js';
import { route, type Route } from './rest-routes.js';

const acceptedSchema = z.object({
  accepted: z.literal(true),
  message: z.string().describe('The same for every address'),
});

/** Password reset by a mailed link (docs/API.md, docs/SECURITY.md). */
export const passwordResetRoutes = (u: UseCases): Route[] => [
  route({
    method: 'POST',
    pattern: '/auth/password/forgot',
    auth: false,
    limit: 'passwordReset',
    summary: 'Mail a single-use link to reset the password of the account with this address',
    description:
      'The same answer, at once, whether or not the address has an account (and whether it is over its budget): the link is mailed afterwards, to active accounts only.',
    body: forgotPasswordSchema,
    replies: { 202: acceptedSchema },
    handle: async (_c, i) => ({ status: 202, body: u.requestPasswordReset.execute(i.body) }),
  }),
  route({
    method: 'POST',
    pattern: '/auth/password/reset',
    auth: false,
    limit: 'login',
    summary: 'Set a new password with a mailed token; every session of the account ends and its sockets close with 4001',
    description: 'A token works once, until it expires or a newer one is mailed; any other token gets RESET_TOKEN_INVALID.',
    body: resetPasswordSchema,
    replies: { 204: null },
    refusals: ['RESET_TOKEN_INVALID'],
    handle: async (_c, i) => {
      const r = await u.resetPassword.execute(i.body);
      return r.ok ? { status: 204 } : errorReply(r.error);
    },
  }),
];
