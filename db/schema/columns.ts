import { timestamp, uuid } from 'drizzle-orm/pg-core';

/** Every timestamp is written from the application Clock, never by `now()` in SQL: tests control time. */
export const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
export const id = () => uuid('id').primaryKey().defaultRandom();
