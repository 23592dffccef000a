import { endsAccess } from '../domain/session.js';
import type { AccessChangeNotice, FanoutObserver, LocalDelivery } from './ports/fanout.js';

/**
 * What every process does with a changed access, whichever broadcaster
 * carried it: caches forget first (so nothing stale is authorised again), then
 * the connections whose access ended are closed.
 */
export function dispatchAccessChange(notice: AccessChangeNotice, observers: readonly FanoutObserver[], delivery: LocalDelivery): void {
  for (const observer of observers) observer.accessChanged?.(notice);
  if (endsAccess(notice.change)) delivery.endAccess(notice.userId, notice.sessionId);
}
