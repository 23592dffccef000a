import { mb, type FuzzReport } from './engine.js';
import type { Finding } from './findings.js';

const indent = (text: string, by = '      ') =>
  text
    .split('\n')
    .map((l) => by + l)
    .join('\n');

function topTags(f: Finding, n = 6): string {
  return [...f.tagCounts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([t, c]) => `${t} ×${c}`)
    .join(', ');
}

/** The human summary printed at the end of a run. */
export function formatReport(r: FuzzReport): string {
  const lines: string[] = [];
  const pct = r.rss.beforeBytes ? `${(((r.rss.afterBytes - r.rss.beforeBytes) / r.rss.beforeBytes) * 100).toFixed(1)}%` : 'n/a';
  lines.push(`fuzz ${r.passed ? 'PASSED' : 'FAILED'}: seed ${r.seed}, transport ${r.transport}, ${(r.durationMs / 1000).toFixed(1)} s`);
  if (r.ws) {
    const w = r.ws;
    lines.push(
      `  /ws        ${w.frames} frames (${mb(w.bytesSent)}); ${w.answered}/${w.answersExpected} acks answered, ${w.unanswered} unanswered; ${w.acklessErrors} errors without ack; ` +
        `${w.closesAsDocumented}/${w.closingFrames} closing frames closed as documented; ${w.pushes} pushes; ${w.reconnects} reconnects`,
    );
  }
  if (r.rest) {
    const s = r.rest;
    const statuses = Object.entries(s.byStatus)
      .map(([k, v]) => `${k}×${v}`)
      .join(' ');
    lines.push(
      `  REST       ${s.requests} requests (${s.upgrades} upgrades); statuses ${statuses}; ${s.unanswered} unanswered, ${s.refusedByParser} dropped by the uWS parser (${s.retried} resent after a kept-alive connection closed under them); malformed HTTP: ${s.malformed.answered} answered, ${s.malformed.closed} closed, ${s.malformed.noReaction} ignored`,
    );
  }
  if (r.socketio) {
    const s = r.socketio;
    lines.push(
      `  Socket.IO  ${s.packets} packets: ${s.emits} emits (${s.callbacksAnswered}/${s.callbacksExpected} callbacks), ${s.rawPackets} hand-written (${s.rawAcksAnswered}/${s.rawAcksExpected} acks), ` +
        `${s.unanswered} unanswered (${s.lostToClientSizing} more in polling batches the client made too long), ${s.junkConnections} junk connections (${s.junkClosedByServer} closed by the server), ${s.oversizeDisconnected}/${s.oversize} oversize disconnected, ${s.disconnects} unexpected disconnects`,
    );
    const h = s.handshakes;
    lines.push(
      `  handshakes ${h.requests} (${h.upgrades} upgrades); statuses ${Object.entries(h.byStatus)
        .map(([k, v]) => `${k}×${v}`)
        .join(' ')}; ${h.unanswered} unanswered`,
    );
  }
  lines.push(
    `  RSS        before ${mb(r.rss.beforeBytes)}, peak ${mb(r.rss.peakBytes)}, after ${mb(r.rss.afterBytes)} (${pct}, waited ${(r.rss.waitedMs / 1000).toFixed(1)} s): ${r.rss.withinTolerance ? 'ok' : 'NOT within tolerance'}`,
  );
  lines.push(
    `  alive ${r.alive ? 'yes' : 'NO'}; /healthz ${r.health.ok ? 'ok' : `FAILED (${r.health.detail})`}; conversation ${r.conversation.failedStep ? `FAILED at ${r.conversation.failedStep}: ${r.conversation.detail}` : 'ok'}`,
  );
  if (r.findings.length === 0) lines.push('  no findings');
  for (const [i, f] of r.findings.entries()) {
    lines.push('');
    lines.push(`  [${i + 1}] ${f.failure ? 'FAIL' : 'note'} ${f.channel}/${f.kind}: ${f.title}  (×${f.count})`);
    lines.push(`      input:`);
    lines.push(indent(f.example.input, '        '));
    lines.push(`      response: ${f.example.response.split('\n').join('\n        ')}`);
    if (f.tagCounts.size) lines.push(`      mutations seen: ${topTags(f)}`);
  }
  if (r.rootCauses.length) {
    lines.push('');
    lines.push('  causes (failing inputs reduced while they still fail the same way):');
    for (const [i, c] of r.rootCauses.entries()) {
      const from = [...c.findings].map((k) => `[${r.findings.findIndex((f) => f.key === k) + 1}]`).join(' ');
      lines.push(
        `  (${i + 1}) ${c.channel} ${c.what}: ${c.failure}${c.reproducible ? '' : ' — did NOT fail again when sent alone (it may need state that has changed since, or concurrency)'}  (${c.examples} examples reduced to it, from findings ${from})`,
      );
      if (c.serverLog) lines.push(`      server logged: ${c.serverLog}`);
      lines.push('      minimal input:');
      lines.push(indent(c.input, '        '));
      lines.push(`      response: ${c.response}`);
    }
  }
  if (r.serverErrors.length) {
    lines.push('');
    lines.push('  server log, error level and above (grouped):');
    for (const e of r.serverErrors.slice(0, 15)) lines.push(`    ×${e.count} ${e.line}`);
  }
  return lines.join('\n');
}

/** The report as JSON, with each finding's exact input (for replay). */
export function reportJson(r: FuzzReport): string {
  const example = ({ replay: _replay, ...e }: Finding['example']) => e;
  return JSON.stringify(
    {
      ...r,
      findings: r.findings.map((f) => ({ ...f, example: example(f.example), examples: f.examples.map(example), tagCounts: Object.fromEntries(f.tagCounts) })),
      rootCauses: r.rootCauses.map((c) => ({ ...c, findings: [...c.findings] })),
    },
    null,
    2,
  );
}
