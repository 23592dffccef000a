import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * Webhook endpoints and their troubled deliveries. Each endpoint keeps its
 * own cursor into the event stream (the last id it acknowledged, or moved
 * past), so delivery resumes where it stopped after a restart. The one
 * endpoint configured by WEBHOOK_URL is the row with `configured = true`.
 * A delivery row exists only for an event that failed at least once: while
 * it is retried (`retrying`), once given up (`dead`), after a later success
 * (`recovered`) or after a replay (`replayed`).
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE TABLE webhook_endpoints (
      id          serial PRIMARY KEY,
      url         text NOT NULL,
      secret      text NOT NULL,
      event_types text[] NOT NULL,
      description text NOT NULL DEFAULT '',
      configured  boolean NOT NULL DEFAULT false,
      cursor      bigint NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX webhook_endpoints_one_configured ON webhook_endpoints (configured) WHERE configured;

    CREATE TABLE webhook_deliveries (
      id              bigserial PRIMARY KEY,
      endpoint_id     integer NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
      webhook_id      text NOT NULL,
      event_id        bigint NOT NULL,
      event_type      text NOT NULL,
      status          text NOT NULL CHECK (status IN ('retrying', 'dead', 'recovered', 'replayed')),
      attempts        integer NOT NULL,
      response_status integer,
      error           text,
      first_attempt_at timestamptz NOT NULL,
      last_attempt_at  timestamptz NOT NULL,
      UNIQUE (endpoint_id, webhook_id)
    );
    CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id DESC);
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query('DROP TABLE IF EXISTS webhook_deliveries; DROP TABLE IF EXISTS webhook_endpoints;');
}
