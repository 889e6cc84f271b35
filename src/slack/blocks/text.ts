import type { MrkdwnElement, PlainTextElement } from '@slack/types';

export const plain = (text: string): PlainTextElement => ({ type: 'plain_text', text, emoji: true });
export const mrkdwn = (text: string): MrkdwnElement => ({ type: 'mrkdwn', text });

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack refuses section text over 3000 characters: long lists (maintainers, products) are cut short. */
export function clip(text: string, max = 3000): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
