export * from './block-kit-limits.ts';
export * from './fake-slack.ts';
export * from './signing.ts';
export * from './slack-payloads.ts';
