/** The original backend's database variables for a database URL (its `.env` had no DATABASE_URL). */
export function originalDbEnv(databaseUrl: string, schema?: string): Record<string, string> {
  const url = new URL(databaseUrl);
  return {
    DATABASE_URL: '',
    DB_DIALECT: 'postgres',
    DB_HOST: url.hostname,
    DB_PORT: url.port || '5432',
    DB_USER: decodeURIComponent(url.username),
    DB_PASSWORD: decodeURIComponent(url.password),
    DB_NAME: decodeURIComponent(url.pathname.slice(1)),
    ...(schema ? { DB_SCHEMA: schema } : {}),
  };
}
