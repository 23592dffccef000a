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
