// Types for the page's plain-JS renderer, so the TypeScript tests can import it.
export class UnknownBlockError extends Error {}
export interface RenderContext {
  now?: Date;
  errors?: Record<string, string> | null;
  userName?: (id: string) => string;
  channelName?: (id: string) => string;
  /** The workspace's people and channels, offered by user and conversation selects. */
  users?: readonly { id: string; name: string }[];
  channels?: readonly { id: string; name: string }[];
}
export function escapeHtml(text: unknown): string;
export function formatSlackDate(unixSeconds: number, format: string, now?: Date): string;
export function renderMrkdwn(text: string, ctx?: RenderContext): string;
export function renderText(obj: unknown, ctx?: RenderContext): string;
export function renderElement(el: unknown, blockId?: string, ctx?: RenderContext, where?: string): string;
export function renderBlock(block: unknown, ctx?: RenderContext): string;
export function renderBlocks(blocks: readonly unknown[] | undefined, ctx?: RenderContext): string;
export function renderMessageBody(
  message: { text?: string; blocks?: readonly unknown[] },
  ctx?: RenderContext,
): string;
export function replaceEmoji(html: string): string;
