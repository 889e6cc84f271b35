import type { KnownBlock, ModalView } from '@slack/types';
import type { KeySummary } from '../../services/types.ts';
import { ids } from '../ids.ts';
import { keyFieldInputs, onLeakInput, policyInput } from './key-inputs.ts';
import { escapeMrkdwn, mrkdwn, plain } from './text.ts';

/**
 * App Home's Edit…: admins get every field, a maintainer only the rotation and on-leak policies (the rest is shown,
 * not editable). The key string is never part of it: editing never changes a key's secrets.
 */
export function buildEditKeyModal(input: {
  key: KeySummary;
  isAdmin: boolean;
  privateMetadata: string;
}): ModalView {
  const { key } = input;
  const name = escapeMrkdwn(key.name);
  const blocks: KnownBlock[] = input.isAdmin
    ? keyFieldInputs(key)
    : [
        {
          type: 'section',
          text: mrkdwn(`*${name}*`),
          fields: [
            mrkdwn(`*Products*\n${key.products.map(escapeMrkdwn).join(', ') || '_none_'}`),
            mrkdwn(`*Alert channel*\n${key.alertChannel ? `<#${key.alertChannel}>` : '_none_'}`),
            mrkdwn(`*Maintainers*\n${key.maintainers.map((m) => `<@${m}>`).join(', ') || '_none_'}`),
          ],
        },
        ...(key.canary ? [] : [policyInput(key.rotateEveryDays), onLeakInput(key.onLeak)]),
        {
          type: 'context',
          elements: [
            mrkdwn(
              key.canary
                ? 'A canary is never rotated, so it has no rotation policy. Only rekey admins can change its name, products, maintainers or alert channel.'
                : 'Only rekey admins can change a key’s name, products, maintainers or alert channel.',
            ),
          ],
        },
      ];
  blocks.push({
    type: 'context',
    elements: [
      mrkdwn(
        key.canary
          ? 'The canary’s key string never changes: it stays where it was planted.'
          : 'The key itself does not change: to get a new key string, rotate it.',
      ),
    ],
  });
  return {
    type: 'modal',
    callback_id: ids.views.editKey,
    title: plain('Edit key'),
    submit: plain('Save'),
    close: plain('Cancel'),
    private_metadata: input.privateMetadata,
    blocks,
  };
}
