/** Who may rotate a key: its maintainers and the configured admins (REKEY_ADMINS). */
export function mayManageKey(
  userId: string,
  maintainers: readonly string[],
  admins: readonly string[],
): boolean {
  return maintainers.includes(userId) || admins.includes(userId);
}
