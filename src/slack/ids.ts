/**
 * Every Slack id rekey uses, in one place. Ids travel back and forth in every payload, so none of them
 * ever carries a key string.
 */
export const ids = {
  command: '/rotate-key',
  views: {
    /** Step 1: pick the key and the delay, acknowledge. Submit "Next". */
    choose: 'rotate_key_choose',
    /** Step 2: review. Submit "Rotate key". */
    review: 'rotate_key_review',
    /** Step 3: the new key, shown once. */
    reveal: 'rotate_key_reveal',
    /** Something stopped the journey; says what to do. */
    failure: 'rotate_key_failure',
    /** App Home: a key's audit, read only. */
    history: 'key_history',
    /** App Home, admins: a new key's name, products, maintainers, channel and policy. Submit "Create key". */
    newKey: 'key_new',
    /** App Home: change a key's fields (admins: all of them; maintainers: the rotation policy). */
    editKey: 'key_edit',
    /** App Home, admins: type the key's name to delete it. */
    deleteKey: 'key_delete',
    /** The new key, shown once after "Create key". */
    created: 'key_created',
    /** A leak message's "End this key now…": confirm ending exactly that old key. Submit "End it now". */
    endLeakedKey: 'leak_end_key_confirm',
  },
  blocks: {
    key: 'key_block',
    delay: 'delay_block',
    ack: 'ack_block',
    /** The New key and Edit dialogs' inputs, one per key field. */
    name: 'key_name_block',
    products: 'key_products_block',
    maintainers: 'key_maintainers_block',
    channel: 'key_channel_block',
    policy: 'key_policy_block',
    onLeak: 'key_on_leak_block',
    /** The New key dialog's "Canary" choice (a decoy key). */
    canary: 'key_canary_block',
    /** The Delete dialog's "type the name" input. */
    confirmName: 'key_confirm_name_block',
  },
  actions: {
    key: 'key_select',
    delay: 'delay_radio',
    ack: 'ack_checkbox',
    name: 'key_name_input',
    products: 'key_products_input',
    maintainers: 'key_maintainers_select',
    channel: 'key_channel_select',
    policy: 'key_policy_select',
    onLeak: 'key_on_leak_select',
    canary: 'key_canary_checkbox',
    confirmName: 'key_confirm_name_input',
  },
  /**
   * App Home. Each card's actions block is `home.cardBlockPrefix + keyId` (block ids are unique per
   * view); its buttons carry the key's id (a uuid) as value — End grace also the ids of the secrets the
   * card showed (end-grace-value.ts) — and the pager buttons a page number only. A reminder whose old
   * key looks unused carries the same End grace button, naming that one old key.
   */
  home: {
    cardBlockPrefix: 'home_card_',
    pagerBlock: 'home_pager',
    /** Admins: the actions block at the top with New key…. */
    adminBlock: 'home_admin',
    newKey: 'home_new_key',
    rotate: 'home_rotate',
    endGrace: 'home_end_grace',
    history: 'home_history',
    edit: 'home_edit',
    delete: 'home_delete',
    previousPage: 'home_page_previous',
    nextPage: 'home_page_next',
  },
  /**
   * Leak response: "Rotate now…" (a leaked current key) and "End this key now…" (a leaked old key) on
   * the thread reply, the maintainers' DM and the alert channel's notice; "Reveal the new key" on the
   * DM after an automatic rotation. Values are ids only (`<key id>` or `<key id>:<secret id>`), never
   * anything about the leaked key string.
   */
  leak: {
    rotateNow: 'leak_rotate_now',
    endKey: 'leak_end_key',
    revealNewKey: 'leak_reveal_new_key',
  },
  /** The value of the one acknowledgement checkbox. */
  ackValue: 'understood',
  /** The value of the New key dialog's Canary checkbox. */
  canaryValue: 'canary',
} as const;
