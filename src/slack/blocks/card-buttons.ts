import type { ActionsBlock, Button } from '@slack/types';
import { ids } from '../ids.ts';
import { plain } from './text.ts';

/**
 * The buttons every key card has after its own: History, Edit… and, for admins, Delete… (no confirm:
 * its dialog is the confirmation, typing the key's name). Values are key ids only.
 */
export function manageButtons(keyId: string, isAdmin: boolean): Button[] {
  const buttons: Button[] = [
    { type: 'button', action_id: ids.home.history, text: plain('History'), value: keyId },
    { type: 'button', action_id: ids.home.edit, text: plain('Edit…'), value: keyId },
  ];
  if (isAdmin) {
    buttons.push({
      type: 'button',
      action_id: ids.home.delete,
      text: plain('Delete…'),
      style: 'danger',
      value: keyId,
    });
  }
  return buttons;
}

/** A card's actions block; its id names the key (block ids are unique per view). */
export function cardActions(keyId: string, elements: Button[]): ActionsBlock {
  return { type: 'actions', block_id: `${ids.home.cardBlockPrefix}${keyId}`, elements };
}
