/** An e-mail to one address. */
export interface Mail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

/** Sends e-mail. Rejects when the message was not accepted for delivery. */
export interface Mailer {
  send(mail: Mail): Promise<void>;
}
