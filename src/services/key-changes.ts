/**
 * What changed about a key, published after the transaction commits. Listeners (verify cache, App
 * Home refresh, cross-replica fan-out) react to it; services do not know who listens.
 */
export interface KeyChange {
  /**
   * `edited`: its name, products, maintainers, channel or policy changed (never its secrets).
   * `leak_reported`: a report of it was recorded, with what must be told in the leak outbox.
   */
  type: 'created' | 'rotated' | 'grace_ended' | 'edited' | 'deleted' | 'policy_changed' | 'leak_reported';
  keyId: string;
  keyName: string;
  /** Hashes of secrets whose validity changed: their cached verdicts must go. */
  secretHashes: string[];
  /**
   * The hash of the secret this change created (`created`, `rotated`). Every replica hears of it from
   * the database at commit; this process's verify path learns it here too, before the key is revealed.
   */
  newSecretHash?: string;
  actorId: string;
}

export type KeyChangeListener = (change: KeyChange) => void | Promise<void>;

export class KeyChanges {
  private readonly listeners = new Set<KeyChangeListener>();
  private readonly onError: (error: unknown, change: KeyChange) => void;

  constructor(onError: (error: unknown, change: KeyChange) => void = () => {}) {
    this.onError = onError;
  }

  subscribe(listener: KeyChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A failing listener is reported, never allowed to undo or fail the change that already committed. */
  async publish(change: KeyChange): Promise<void> {
    await Promise.all(
      [...this.listeners].map(async (listener) => {
        try {
          await listener(change);
        } catch (error) {
          this.onError(error, change);
        }
      }),
    );
  }
}
