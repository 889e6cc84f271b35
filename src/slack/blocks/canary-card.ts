import type { KnownBlock } from '@slack/types';
import type { KeySummary } from '../../services/types.ts';
import { cardActions, manageButtons } from './card-buttons.ts';
import { slackDate } from './slack-time.ts';
import { escapeMrkdwn, mrkdwn } from './text.ts';

/**
 * A canary's card on the App Home (3 blocks, inside a card's 4): what it is, its key's display form,
 * where its alarms go and when it was last tried. No Rotate… or End grace: a canary is never rotated.
 */
export function canaryCard(key: KeySummary, isAdmin: boolean, lastTriedAt: Date | undefined): KnownBlock[] {
  const channel = key.alertChannel ? `<#${key.alertChannel}>` : '_none: its maintainers only_';
  const tried = lastTriedAt
    ? `:rotating_light: ${slackDate(lastTriedAt)}`
    : '_never_ — nobody has presented it yet';
  return [
    {
      type: 'section',
      text: mrkdwn(
        `*${escapeMrkdwn(key.name)}*  :bird: _canary_\nA decoy key: never valid, answered like an unknown key, and every use raises an alarm here and to its maintainers. Plant it where an intruder would look (a repository's \`.env\`, a CI variable, a wiki page).`,
      ),
      fields: [
        mrkdwn(`*Key*\n\`${key.current?.display ?? '—'}\``),
        mrkdwn(`*Alert channel*\n${channel}`),
        mrkdwn(`*Last tried*\n${tried}`),
      ],
    },
    cardActions(key.id, manageButtons(key.id, isAdmin)),
    { type: 'divider' },
  ];
}
