import { QueryTypes, type Sequelize } from 'sequelize';
import type { MessageSearch, SearchPage, SearchQuery } from '../../../application/ports/conversation-features.js';
import { num } from '../database.js';
import { MESSAGE_COLUMNS, toMessage, type Row } from './message-row.js';

/** Matches ranked at most, the newest: a word found in a whole history costs ranking this many, not the history. */
export const SEARCH_CANDIDATES = 1000;

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/**
 * ts_headline's parser would take `<…>` in the content for tags and drop
 * them, so `<`, `>` and `&` reach it as \x03, \x04 and \x05, and it marks
 * matches with \x01 and \x02 (all five taken out of the content first). The
 * snippet is then escaped whole and the marks become <mark> tags: no markup
 * of the content ever reaches the client unescaped.
 */
const MARKS: Record<string, string> = { '\x01': '<mark>', '\x02': '</mark>', '\x03': '&lt;', '\x04': '&gt;', '\x05': '&amp;' };
// eslint-disable-next-line no-control-regex -- the marks are control characters on purpose
const snippetOf = (raw: string) => escapeHtml(raw).replace(/[\x01-\x05]/g, (c) => MARKS[c]!);

/**
 * PostgreSQL full-text search with the `simple` configuration (language
 * neutral), over the GIN index of live messages by conversation and words
 * (migration 20261204000300). The query starts from the caller's
 * participations and probes the index per conversation, so it costs what the
 * caller's matching messages cost, never other conversations' matches;
 * `websearch_to_tsquery` accepts any text (quotes, operators, unbalanced
 * syntax) without a syntax error. The newest SEARCH_CANDIDATES matches are
 * ranked by ts_rank (then newest first).
 */
export class PgMessageSearch implements MessageSearch {
  constructor(private readonly sequelize: Sequelize) {}

  async search(query: SearchQuery): Promise<SearchPage> {
    const rows = await this.sequelize.query<Row>(
      `WITH q AS (SELECT websearch_to_tsquery('simple', $text) AS q),
       hits AS (
         SELECT r.id, r.rank FROM (
           SELECT x.id, ts_rank(to_tsvector('simple', x.content), q.q) AS rank FROM q, (
             SELECT m.id, m.content
             FROM q, conversation_participants p JOIN conversations c ON c.id = p.conversation_id
             JOIN messages m ON m.conversation_id = p.conversation_id
             WHERE p.user_id = $user AND p.deleted_at IS NULL AND c.deleted_at IS NULL
               AND ($conversation::int IS NULL OR p.conversation_id = $conversation::int)
               AND to_tsvector('simple', m.content) @@ q.q AND m.deleted_at IS NULL
             ORDER BY m.id DESC LIMIT ${SEARCH_CANDIDATES}
           ) x
         ) r
         WHERE $rank::real IS NULL OR (r.rank, r.id) < ($rank::real, $after::bigint)
         ORDER BY r.rank DESC, r.id DESC LIMIT $limit
       )
       SELECT ${MESSAGE_COLUMNS}, h.rank,
         ts_headline('simple', translate(m.content, '<>&' || chr(1) || chr(2) || chr(3) || chr(4) || chr(5), chr(3) || chr(4) || chr(5)), q.q,
           'StartSel=' || chr(1) || ', StopSel=' || chr(2) || ', MaxWords=24, MinWords=8, MaxFragments=2, FragmentDelimiter=" … "') AS snippet
       FROM hits h CROSS JOIN q JOIN messages m ON m.id = h.id JOIN users u ON u.id = m.sender_id
       ORDER BY h.rank DESC, h.id DESC`,
      {
        bind: {
          text: query.text,
          user: query.userId,
          conversation: query.conversationId ?? null,
          rank: query.after?.rank ?? null,
          after: query.after?.id ?? null,
          limit: query.limit + 1,
        },
        type: QueryTypes.SELECT,
      },
    );
    const page = rows.slice(0, query.limit);
    const hits = page.map((r) => ({ message: toMessage(r), rank: Number(r.rank), snippet: snippetOf(String(r.snippet)) }));
    const last = hits.at(-1);
    return { hits, next: rows.length > query.limit && last ? { rank: last.rank, id: num(last.message.id) } : null };
  }
}
