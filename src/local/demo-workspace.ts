/** The demo workspace local mode plays: two maintainers, one admin, one outsider, two channels. */
export interface DemoUser {
  id: string;
  name: string;
  title: string;
}

export const DEMO_USERS: readonly DemoUser[] = [
  { id: 'U0ADA', name: 'Ada', title: 'Maintainer of payments-api and search-api' },
  { id: 'U0GRACE', name: 'Grace', title: 'Maintainer of payments-api' },
  { id: 'U0LINUS', name: 'Linus', title: 'rekey admin: may rotate any key' },
  { id: 'U0OSCAR', name: 'Oscar', title: 'Outsider: maintains no key' },
];

export const DEMO_CHANNELS = [
  { id: 'C0GENERAL', name: 'general' },
  { id: 'C0ALERTS', name: 'api-key-alerts' },
] as const;

/** Added to REKEY_ADMINS in local mode, so the demo has someone who may rotate anything. */
export const LOCAL_ADMINS = ['U0LINUS'];

export const DEMO_KEYS = [
  {
    name: 'payments-api',
    products: ['payments', 'refunds'],
    maintainers: ['U0ADA', 'U0GRACE'],
    alertChannel: 'C0ALERTS',
    // So the demo's Home shows a policy line ("rotation due in 90 days") next to a key without one.
    rotateEveryDays: 90,
  },
  { name: 'search-api', products: ['search'], maintainers: ['U0ADA'], alertChannel: 'C0ALERTS' },
] as const;

export function isDemoUser(id: unknown): id is string {
  return typeof id === 'string' && DEMO_USERS.some((u) => u.id === id);
}

/** The DM conversation of a user with the app (what `conversations.open` answers in the fake). */
export const dmChannelOf = (userId: string) => `D${userId}`;
