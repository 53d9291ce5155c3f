/** Values that survive JSON (and PostgreSQL jsonb) unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
