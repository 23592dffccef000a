import pg from 'pg';
import type { Comparison } from '../lib/yardstick.js';
import { freshDatabase } from '../lib/seed.js';
import { startFloor, startServer, type BenchServer } from '../lib/server-process.js';

export interface BenchOptions {
  readonly seconds: number;
  readonly pairs: number;
  readonly rounds: number;
  readonly groups: number[];
  readonly loadProcesses: number;
  readonly floorLock: boolean;
  /** Added to every real server's environment (experiments: FANOUT=local, DB_POOL_MAX=…). */
  readonly serverEnv: Record<string, string>;
  readonly memoryFrom: number;
  readonly memoryMax: number;
  readonly memoryPoints: number;
  readonly settleSeconds: number;
  readonly idle: number;
  readonly idleWorkers: number;
  /** Storm: clients in one-to-one conversations (parts 2 and 3). */
  readonly stormClients: number;
  /** Storm: client processes; 0 picks one per 5,000 clients, at least 4. */
  readonly stormProcesses: number;
  /** Storm: upgrades measured per variant in part 1. */
  readonly stormUpgrades: number;
  /** Storm: handshakes in flight in part 1, over all client processes. */
  readonly stormInFlight: number;
  /** Storm: share of clients that chat. */
  readonly stormChatters: number;
  /** Storm: messages per second per chatting client. */
  readonly stormRate: number;
  /** Storm: niceness of the client processes (0: as the server), so they use what the server leaves. */
  readonly stormClientNice: number;
  /** Storm: how long to wait for one storm to be over, in seconds; 0 for 1.5 × its target. */
  readonly stormTimeout: number;
  /** Brokers: the FANOUT values compared, the first being the yardstick. */
  readonly brokers: ('postgres' | 'nats' | 'redis')[];
  /** Brokers: server processes per broker. */
  readonly brokerProcesses: number;
  /** Brokers, part 2: messages per second offered over all senders. */
  readonly brokersRate: number;
}

/** Figures without a floor beside them (scenarios the floor cannot play). */
export interface AbsoluteRow {
  readonly scenario: string;
  readonly variant: string;
  readonly figures: Record<string, unknown>;
}

export interface BenchContext {
  /** Admin URL of the benchmark's PostgreSQL. */
  readonly base: string;
  /** Its postmaster, for PostgreSQL's CPU; null when its processes are not visible from here. */
  readonly postgresPid: number | null;
  readonly options: BenchOptions;
  readonly comparisons: Comparison[];
  readonly absolute: AbsoluteRow[];
  readonly notes: string[];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A fresh, migrated database; then a checkpoint, so that no measured run pays
 * for the pages an earlier one dirtied.
 */
export async function freshCheckpointedDatabase(ctx: BenchContext, prefix: string): Promise<string> {
  const url = await freshDatabase(ctx.base, prefix);
  await checkpoint(ctx.base);
  return url;
}

export async function checkpoint(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CHECKPOINT');
  } finally {
    await client.end();
  }
}

/** The real server on the transport asked for; refuses to report figures of any other. */
export async function withServer<T>(ctx: BenchContext, env: Record<string, string>, run: (server: BenchServer) => Promise<T>): Promise<T> {
  const server = await startServer({ ...env, ...ctx.options.serverEnv });
  try {
    const wanted = env.TRANSPORT ?? 'uws';
    if (!server.output().includes(`"transport":"${wanted}"`)) {
      throw new Error(`The server did not start on the ${wanted} transport: its figures would not describe it. Output:\n${server.output().slice(-2000)}`);
    }
    return await run(server);
  } finally {
    await server.stop();
  }
}

export async function withFloor<T>(ctx: BenchContext, databaseUrl: string, port: number, run: (floor: BenchServer) => Promise<T>): Promise<T> {
  const floor = await startFloor({ databaseUrl, port, lock: ctx.options.floorLock });
  try {
    return await run(floor);
  } finally {
    await floor.stop();
  }
}

export const floorLabel = (ctx: BenchContext) => `floor (uWS + pg${ctx.options.floorLock ? ', advisory lock per batch' : ''})`;
