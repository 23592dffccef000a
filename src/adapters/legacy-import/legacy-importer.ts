import type pg from 'pg';
import type { Logger } from '../../application/ports/services.js';
import type { ImportContext } from './import-context.js';
import { importConversations, importParticipants } from './import-conversations.js';
import { finish, importMessages, reserveOriginalIds } from './import-messages.js';
import { importUsers, refuseConflicts, usernameRenames } from './import-users.js';
import { emptyReport, TABLES, type ImportReport, type ReportTable } from './import-report.js';
import { OriginalTables, type OriginalTable } from './original-tables.js';

export { ImportConflictError } from './import-users.js';
export { OriginalSchemaError } from './original-tables.js';
export { logReport, summarise, type ImportReport } from './import-report.js';
export { CANDIDATES, type OriginalTable } from './original-tables.js';

export interface LegacyImportOptions {
  /** The original backend's database. */
  readonly source: pg.Client;
  /** The schema of its tables. @default 'public' */
  readonly sourceSchema?: string;
  /**
   * The name of any of its tables, where it is not the first of
   * `CANDIDATES` that exists. @default {} (each found by `CANDIDATES`)
   */
  readonly sourceTables?: Partial<Record<OriginalTable, string>>;
  /** This server's database, migrated, with its search_path on this server's schema. */
  readonly target: pg.Client;
  /** Rows read, and written in one transaction, at a time. @default 1000 */
  readonly batchSize?: number;
  readonly logger: Logger;
}

/** The original's table behind each part of the report. */
const READ: Record<ReportTable, OriginalTable> = {
  users: 'users',
  conversations: 'conversations',
  participants: 'conversation_participants',
  messages: 'messages',
};

/** Any constant: two imports into one database never run at once. */
const IMPORT_LOCK = 727_005;

/**
 * Copies the original backend's users, conversations, participants and
 * messages into this server's schema. Each batch is one transaction that also
 * records what it copied (legacy_id_map), so a run that stops anywhere is
 * completed by the next, and a run over an import that is complete copies
 * nothing. Ids are kept (see docs/MIGRATING.md for why and for the
 * exceptions). Rows already copied are not updated: the last run should come
 * after the original has stopped taking writes.
 */
export async function importLegacy(options: LegacyImportOptions): Promise<ImportReport> {
  const original = await OriginalTables.open(options.source, options.sourceSchema ?? 'public', options.sourceTables);
  const report = emptyReport((table) => original.name(READ[table]));
  for (const table of TABLES) {
    const passedOver = original.passedOver(READ[table]);
    options.logger.info({ table, source: report[table].source, ...(passedOver.length > 0 ? { notRead: passedOver } : {}) }, 'reading the original');
  }
  const c: ImportContext = { original, target: options.target, batchSize: options.batchSize ?? 1000, logger: options.logger, report };
  await c.target.query('SELECT pg_advisory_lock($1)', [IMPORT_LOCK]);
  try {
    const renames = await usernameRenames(c);
    await refuseConflicts(c, renames);
    await reserveOriginalIds(c);
    await importUsers(c, renames);
    await importConversations(c);
    await importParticipants(c);
    await importMessages(c);
    await finish(c);
    return c.report;
  } finally {
    await c.target.query('SELECT pg_advisory_unlock($1)', [IMPORT_LOCK]).catch(() => undefined);
  }
}
