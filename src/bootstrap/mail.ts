import type { Mailer } from '../application/ports/mailer.js';
import type { Logger } from '../application/ports/services.js';
import { LogMailer } from '../adapters/mail/log-mailer.js';
import { SmtpMailer } from '../adapters/mail/smtp-mailer.js';
import type { Config } from './config.js';

/** SMTP when SMTP_URL is set; else the log (the mail's content in development only). */
export function mailerFor(config: Config, logger: Logger): Mailer {
  if (config.SMTP_URL) return new SmtpMailer({ url: config.SMTP_URL, from: config.MAIL_FROM });
  if (config.NODE_ENV === 'production') logger.warn('SMTP_URL is not set: password reset links cannot be mailed (requests are answered as usual)');
  return new LogMailer(logger.child({ component: 'mail' }), config.NODE_ENV === 'development');
}

/** The browser app's address with the token to come in the fragment, which browsers send to no server and no Referer carries. */
export function resetLinkPrefix(config: Config): string {
  const base = config.PUBLIC_URL ?? config.FRONTEND_URL ?? `http://localhost:${config.PORT}`;
  return `${base.replace(/\/+$/, '')}/#reset_token=`;
}
