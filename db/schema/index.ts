export * from './audit-events.ts';
export * from './keys.ts';
export * from './notifications.ts';
export * from './secrets.ts';
