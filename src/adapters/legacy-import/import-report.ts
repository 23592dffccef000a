import type { Logger } from '../../application/ports/services.js';

/**
 * Why a row was skipped, or imported other than as it was: one code, one
 * sentence. `row: true` also logs each such row (table, id, reason): rows
 * that were left out, and changes a person notices (a new username, a staff
 * flag, a role nobody chose).
 */
export const REASONS = {
  ROLE_USER: { outcome: 'changed', row: false, text: 'role "user" imported as tenant' },
  ROLE_STAFF: { outcome: 'changed', row: true, text: 'role "staff" imported as tenant; staff rights follow is_staff alone' },
  ROLE_MISSING: { outcome: 'changed', row: false, text: 'no role: imported as tenant' },
  ROLE_UNKNOWN: { outcome: 'changed', row: true, text: 'a role this server does not know: imported as tenant' },
  USERNAME_RENAMED: { outcome: 'changed', row: true, text: 'username differs only in case from an older account’s: _<id> appended' },
  MERGED_DIRECT: { outcome: 'changed', row: false, text: 'a second direct conversation of the same pair: merged into the first' },
  NO_PARTICIPANTS: { outcome: 'skipped', row: true, text: 'nobody was ever in it (and nobody created it): nobody could see it' },
  USER_NOT_IMPORTED: { outcome: 'skipped', row: true, text: 'its user is not in the users table read' },
  CONVERSATION_NOT_IMPORTED: { outcome: 'skipped', row: true, text: 'its conversation was not imported' },
  DUPLICATE_PARTICIPANT: {
    outcome: 'skipped',
    row: true,
    text: 'another row of the same person in the same conversation: the live one (else the one deleted last) was taken',
  },
  SENDER_NOT_IMPORTED: { outcome: 'skipped', row: true, text: 'its sender is not in the users table read' },
  TYPE_UNKNOWN: { outcome: 'changed', row: false, text: 'a type other than text, image, video or file: imported as text' },
  MEDIA_WITHOUT_URL: { outcome: 'changed', row: false, text: 'media whose content is no http(s) URL: imported without an attachment' },
} as const satisfies Record<string, { outcome: 'skipped' | 'changed'; row: boolean; text: string }>;

export type ReasonCode = keyof typeof REASONS;
export type SkipCode = { [K in ReasonCode]: (typeof REASONS)[K]['outcome'] extends 'skipped' ? K : never }[ReasonCode];
export type ChangeCode = Exclude<ReasonCode, SkipCode>;
/** An original row: its id, or `conversation_id:user_id` for a participant. */
export type RowId = number | string;

/** How many rows had this reason, and the first few of them. */
export interface ReasonCount {
  count: number;
  ids: RowId[];
}

export interface TableReport {
  /** The original's table read. */
  source: string;
  /** Taken over by this run (a merged conversation included). */
  imported: number;
  /** Taken over by an earlier run (or, for participants, present already). */
  alreadyThere: number;
  /** Not taken: `skippedFor` says why. */
  skipped: number;
  skippedFor: Partial<Record<SkipCode, ReasonCount>>;
  /** Imported, but not exactly as they were. */
  changed: Partial<Record<ChangeCode, ReasonCount>>;
}

export const TABLES = ['users', 'conversations', 'participants', 'messages'] as const;
export type ReportTable = (typeof TABLES)[number];

export type ImportReport = Record<ReportTable, TableReport> & { readMarkersSet: number };

/** Ids kept per reason in the report; every one is in the log. */
const FIRST_IDS = 5;

const emptyTable = (source: string): TableReport => ({ source, imported: 0, alreadyThere: 0, skipped: 0, skippedFor: {}, changed: {} });

export const emptyReport = (sourceOf: (table: ReportTable) => string): ImportReport => ({
  users: emptyTable(sourceOf('users')),
  conversations: emptyTable(sourceOf('conversations')),
  participants: emptyTable(sourceOf('participants')),
  messages: emptyTable(sourceOf('messages')),
  readMarkersSet: 0,
});

/** Counts a row under `code` (a skip also counts in `skipped`); rows of `row: true` reasons are logged one by one. */
export function tally(report: ImportReport, logger: Logger, table: ReportTable, code: ReasonCode, id: RowId, detail?: Record<string, unknown>): void {
  const reason = REASONS[code];
  const t = report[table];
  const groups: Partial<Record<ReasonCode, ReasonCount>> = reason.outcome === 'skipped' ? t.skippedFor : t.changed;
  const group = (groups[code] ??= { count: 0, ids: [] });
  group.count += 1;
  if (group.ids.length < FIRST_IDS) group.ids.push(id);
  if (reason.outcome === 'skipped') t.skipped += 1;
  if (reason.row) logger.warn({ table: t.source, id, reason: code, ...detail }, reason.outcome === 'skipped' ? 'row skipped' : 'row changed');
}

/** One JSON line per table, then the whole report. */
export function logReport(report: ImportReport, logger: Logger): void {
  for (const table of TABLES) logger.info({ table, ...report[table] }, 'import report');
  logger.info({ report }, 'import complete');
}

/** The report for a person: a line per table, and each reason with its count and first ids. */
export function summarise(report: ImportReport): string {
  const lines = ['Import finished.'];
  for (const table of TABLES) {
    const t = report[table];
    lines.push(`  ${table} (from ${t.source}): ${t.imported} imported, ${t.alreadyThere} already present, ${t.skipped} skipped`);
    const reasons = [
      ...Object.entries(t.skippedFor).map(([code, r]) => ['skipped', code, r] as const),
      ...Object.entries(t.changed).map(([code, r]) => ['changed', code, r] as const),
    ];
    for (const [outcome, code, r] of reasons) {
      const more = r.count > r.ids.length ? ', ...' : '';
      lines.push(`    ${outcome} ${r.count}: ${REASONS[code as ReasonCode].text} [${code}] (${r.ids.join(', ')}${more})`);
    }
  }
  lines.push(`  read markers set: ${report.readMarkersSet}`);
  return `${lines.join('\n')}\n`;
}
