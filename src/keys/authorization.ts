/** Who may rotate a key: its maintainers and the configured admins (DESIGN §6). */
export function mayManageKey(
  userId: string,
  maintainers: readonly string[],
  admins: readonly string[],
): boolean {
  return maintainers.includes(userId) || admins.includes(userId);
}
