export * from './audit-events.ts';
export * from './instances.ts';
export * from './keys.ts';
export * from './leak-reports.ts';
export * from './notifications.ts';
export * from './policy-digests.ts';
export * from './secret-usage.ts';
export * from './secrets.ts';
