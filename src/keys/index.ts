export * from './authorization.ts';
export * from './base62.ts';
export * from './delay.ts';
export * from './hash.ts';
export * from './key-name.ts';
export * from './rotation.ts';
export * from './token.ts';
export * from './verification.ts';
