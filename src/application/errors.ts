/**
 * Infrastructure failures that adapters throw and transports recognise.
 * (Expected, domain-level failures are Result values instead.)
 */
export class OverloadedError extends Error {
  constructor(what = 'The write queue is full') {
    super(what);
    this.name = 'OverloadedError';
  }
}

/** A dependency (the database) cannot be reached; the request may be retried. */
export class UnavailableError extends Error {
  constructor(what = 'The database is unavailable', options?: ErrorOptions) {
    super(what, options);
    this.name = 'UnavailableError';
  }
}
