import type { MrkdwnElement, PlainTextElement } from '@slack/types';

export const plain = (text: string): PlainTextElement => ({ type: 'plain_text', text, emoji: true });
export const mrkdwn = (text: string): MrkdwnElement => ({ type: 'mrkdwn', text });

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
