import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';

/**
 * Block actions. The /rotate-key modal's inputs do not dispatch actions (their values arrive with the
 * submission), so nothing is registered yet; App Home's Rotate and End-grace buttons will be.
 */
export function register(_app: App, _deps: SlackDeps): void {}
