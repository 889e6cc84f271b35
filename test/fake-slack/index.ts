/** The test side of the Slack fake: the fake itself (shared with local mode) and Slack-shaped requests. */
export * from '../../src/fake-slack/index.ts';
export * from './slack-channel.ts';
export { postToSlackEndpoint, type SlackResponse } from './slack-requests.ts';
export * from './slack-user.ts';
