import { createTransport } from 'nodemailer';
import type { Mail, Mailer } from '../../application/ports/mailer.js';

export interface SmtpMailerOptions {
  /** `smtp://user:pass@host:587` (STARTTLS when the server offers it) or `smtps://user:pass@host:465` (TLS from the start). */
  readonly url: string;
  /** The From header, e.g. `Chat <no-reply@example.com>`. */
  readonly from: string;
  /** Limit on connecting, on the server's greeting and on a silent socket. @default 10000 */
  readonly timeoutMs?: number;
}

/** Mail through an SMTP server (nodemailer): one connection per message, so nothing stays open to close. */
export class SmtpMailer implements Mailer {
  private readonly transport: ReturnType<typeof createTransport>;

  constructor(private readonly options: SmtpMailerOptions) {
    const timeout = options.timeoutMs ?? 10_000;
    this.transport = createTransport({ url: options.url, connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout });
  }

  async send(mail: Mail): Promise<void> {
    await this.transport.sendMail({ from: this.options.from, to: mail.to, subject: mail.subject, text: mail.text });
  }
}
