import type { Mail, Mailer } from '../../application/ports/mailer.js';
import type { Logger } from '../../application/ports/services.js';

/**
 * Where mail goes without an SMTP server. In development the whole mail (and
 * so a reset link) is written to the log, to be followed by hand; anywhere
 * else only a warning that it was not sent, since a log is read by more
 * people than the mailbox.
 */
export class LogMailer implements Mailer {
  constructor(
    private readonly logger: Logger,
    private readonly showContent: boolean,
  ) {}

  async send(mail: Mail): Promise<void> {
    if (this.showContent) this.logger.warn({ mail }, 'SMTP_URL is not set: this mail was written here instead of being sent');
    else this.logger.warn({ subject: mail.subject }, 'SMTP_URL is not set: a mail was not sent (its content is shown only with NODE_ENV=development)');
  }
}
