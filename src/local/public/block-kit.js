// Renders Slack Block Kit to HTML strings, for the local-mode page that plays Slack.
// Plain ES module with no dependencies: the browser loads it as is, and the tests import it in Node
// to prove that every block the bot emits renders. An unknown block or element type throws, so a
// new builder cannot silently show nothing.

export class UnknownBlockError extends Error {}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML. Every string from a view goes through this: key names are user input. */
export function escapeHtml(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const pad = (n) => String(n).padStart(2, '0');

/** Formats `<!date^…>` tokens in the reader's own time zone, as Slack does. */
export function formatSlackDate(unixSeconds, format, now = new Date()) {
  const d = new Date(unixSeconds * 1000);
  const locale = undefined;
  const day = (opts) => d.toLocaleDateString(locale, opts);
  const relativeDay = (fallback) => {
    const start = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
    const diff = Math.round((start(d) - start(now)) / 86_400_000);
    if (diff === 0) return 'today';
    if (diff === 1) return 'tomorrow';
    if (diff === -1) return 'yesterday';
    return fallback;
  };
  const ago = () => {
    const secs = Math.round((d.getTime() - now.getTime()) / 1000);
    const abs = Math.abs(secs);
    const unit =
      abs < 60 ? ['second', 1] : abs < 3600 ? ['minute', 60] : abs < 86400 ? ['hour', 3600] : ['day', 86400];
    const n = Math.max(1, Math.round(abs / unit[1]));
    const label = `${n} ${unit[0]}${n === 1 ? '' : 's'}`;
    return secs >= 0 ? `in ${label}` : `${label} ago`;
  };
  const tokens = {
    date_num: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
    date: day({ month: 'long', day: 'numeric', year: 'numeric' }),
    date_short: day({ month: 'short', day: 'numeric', year: 'numeric' }),
    date_long: day({ weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' }),
    date_pretty: relativeDay(day({ month: 'long', day: 'numeric', year: 'numeric' })),
    date_short_pretty: relativeDay(day({ month: 'short', day: 'numeric', year: 'numeric' })),
    date_long_pretty: relativeDay(day({ weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' })),
    time: d.toLocaleTimeString(locale, { hour: 'numeric', minute: '2-digit' }),
    time_secs: d.toLocaleTimeString(locale, { hour: 'numeric', minute: '2-digit', second: '2-digit' }),
    ago: ago(),
  };
  return format.replace(/\{(\w+)\}/g, (whole, name) => tokens[name] ?? whole);
}

// The shortcodes Slack turns into emoji; unknown ones stay as typed, as in Slack.
const EMOJI = {
  arrows_counterclockwise: '🔄',
  bell: '🔔',
  alarm_clock: '⏰',
  calendar: '📆',
  clock3: '🕒',
  hourglass: '⌛',
  hourglass_flowing_sand: '⏳',
  information_source: 'ℹ️',
  key: '🔑',
  lock: '🔒',
  no_entry: '⛔',
  octagonal_sign: '🛑',
  pencil2: '✏️',
  rotating_light: '🚨',
  sparkles: '✨',
  warning: '⚠️',
  wastebasket: '🗑️',
  white_check_mark: '✅',
  x: '❌',
};

export function replaceEmoji(html) {
  return html.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] ?? whole);
}

/** Slack's mrkdwn: *bold*, _italic_, ~strike~, `code`, ```pre```, > quotes, links, mentions, dates. */
export function renderMrkdwn(text, ctx = {}) {
  // Slack escapes &, < and > itself; undo that first so we escape exactly once.
  const source = String(text ?? '')
    .replace(/&lt;/g, '\uE001')
    .replace(/&gt;/g, '\uE002')
    .replace(/&amp;/g, '&');
  const pres = [];
  let html = source.replace(/```([\s\S]*?)```/g, (_, code) => {
    pres.push(
      `<pre class="bk-pre">${escapeHtml(code.replace(/^\n/, ''))
        .replace(/\uE001/g, '&lt;')
        .replace(/\uE002/g, '&gt;')}</pre>`,
    );
    return `\uE003${pres.length - 1}\uE003`;
  });
  const specials = [];
  html = html.replace(/<([^<>]+)>/g, (_, inner) => {
    specials.push(renderSpecial(inner, ctx));
    return `\uE004${specials.length - 1}\uE004`;
  });
  html = escapeHtml(html)
    .replace(/`([^`\n]+)`/g, '<code class="bk-code">$1</code>')
    .replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,!?:;])/g, '$1<b>$2</b>')
    .replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,!?:;])/g, '$1<i>$2</i>')
    .replace(/(^|[\s(])~([^~\n]+)~(?=$|[\s).,!?:;])/g, '$1<s>$2</s>')
    .replace(/^&gt; ?(.*)$/gm, '<span class="bk-quote">$1</span>')
    .replace(/\uE001/g, '&lt;')
    .replace(/\uE002/g, '&gt;')
    .replace(/\n/g, '<br>');
  html = replaceEmoji(html).replace(/\uE004(\d+)\uE004/g, (_, i) => specials[Number(i)]);
  return html.replace(/\uE003(\d+)\uE003/g, (_, i) => pres[Number(i)]);
}

function renderSpecial(inner, ctx) {
  const [target, label] = splitOnce(inner, '|');
  if (target.startsWith('!date^')) {
    const [, ts, format] = target.split('^');
    const text = formatSlackDate(Number(ts), format ?? '{date_short_pretty} at {time}', ctx.now);
    return `<time class="bk-date" datetime="${new Date(Number(ts) * 1000).toISOString()}" title="${escapeHtml(label ?? '')}">${escapeHtml(text)}</time>`;
  }
  if (target.startsWith('@'))
    return `<span class="bk-mention">@${escapeHtml(ctx.userName?.(target.slice(1)) ?? target.slice(1))}</span>`;
  if (target.startsWith('#')) {
    const name = label ?? ctx.channelName?.(target.slice(1)) ?? target.slice(1);
    return `<span class="bk-mention">#${escapeHtml(name)}</span>`;
  }
  if (target.startsWith('!'))
    return `<span class="bk-mention">@${escapeHtml(label ?? target.slice(1))}</span>`;
  if (/^(https?:|mailto:)/.test(target)) {
    return `<a href="${escapeHtml(target)}" target="_blank" rel="noopener noreferrer">${escapeHtml(label ?? target)}</a>`;
  }
  return escapeHtml(`<${inner}>`);
}

function splitOnce(text, sep) {
  const i = text.indexOf(sep);
  return i < 0 ? [text, undefined] : [text.slice(0, i), text.slice(i + 1)];
}

/** A text object: plain_text is escaped (emoji left alone); mrkdwn is rendered. */
export function renderText(obj, ctx = {}) {
  if (obj == null) return '';
  if (typeof obj === 'string') return escapeHtml(obj);
  if (obj.type === 'plain_text')
    return obj.emoji === false ? escapeHtml(obj.text) : replaceEmoji(escapeHtml(obj.text));
  if (obj.type === 'mrkdwn') return renderMrkdwn(obj.text, ctx);
  throw new UnknownBlockError(`unknown text object type "${obj.type}"`);
}

const attr = (name, value) => (value == null ? '' : ` ${name}="${escapeHtml(value)}"`);
/** The options travel with the element, so the page can send back the option Slack would. */
const options_ = (options) => attr('data-options', JSON.stringify(options ?? []));

function renderConfirm(confirm) {
  if (!confirm) return '';
  return attr('data-confirm', JSON.stringify(confirm));
}

function optionHtml(option, selected, ctx) {
  return `<option value="${escapeHtml(option.value)}"${selected ? ' selected' : ''}>${renderText(option.text, ctx)}</option>`;
}

const sameOption = (a, b) => a && b && a.value === b.value;

/** Interactive elements. `where` is 'input' inside input blocks, 'actions' or 'accessory' otherwise. */
export function renderElement(el, blockId, ctx = {}, where = 'actions') {
  const common = `${attr('data-block-id', blockId)}${attr('data-action-id', el.action_id)}${attr('data-type', el.type)}`;
  switch (el.type) {
    case 'button': {
      const style = el.style ? ` bk-button-${escapeHtml(el.style)}` : '';
      return `<button type="button" class="bk-button${style}"${common}${attr('data-value', el.value)}${attr('data-url', el.url)}${renderConfirm(el.confirm)}>${renderText(el.text, ctx)}</button>`;
    }
    case 'static_select': {
      const options = el.option_groups ? el.option_groups.flatMap((g) => g.options) : (el.options ?? []);
      const interactive = where === 'input' ? '' : ' data-dispatch="change"';
      return `<select class="bk-select"${common}${options_(options)}${interactive}${renderConfirm(el.confirm)}><option value="">${renderText(el.placeholder ?? { type: 'plain_text', text: 'Select…' }, ctx)}</option>${options
        .map((o) => optionHtml(o, sameOption(o, el.initial_option), ctx))
        .join('')}</select>`;
    }
    case 'radio_buttons': {
      const name = `${blockId}:${el.action_id}`;
      return `<div class="bk-radios"${common}${options_(el.options)}>${el.options
        .map(
          (o) =>
            `<label class="bk-choice"><input type="radio" name="${escapeHtml(name)}" value="${escapeHtml(o.value)}"${sameOption(o, el.initial_option) ? ' checked' : ''}><span><span class="bk-choice-text">${renderText(o.text, ctx)}</span>${o.description ? `<span class="bk-choice-desc">${renderText(o.description, ctx)}</span>` : ''}</span></label>`,
        )
        .join('')}</div>`;
    }
    case 'checkboxes': {
      const initial = el.initial_options ?? [];
      return `<div class="bk-checkboxes"${common}${options_(el.options)}>${el.options
        .map(
          (o) =>
            `<label class="bk-choice"><input type="checkbox" value="${escapeHtml(o.value)}"${initial.some((i) => sameOption(i, o)) ? ' checked' : ''}><span><span class="bk-choice-text">${renderText(o.text, ctx)}</span>${o.description ? `<span class="bk-choice-desc">${renderText(o.description, ctx)}</span>` : ''}</span></label>`,
        )
        .join('')}</div>`;
    }
    case 'plain_text_input': {
      const placeholder = el.placeholder ? attr('placeholder', el.placeholder.text) : '';
      const len = `${attr('minlength', el.min_length)}${attr('maxlength', el.max_length)}`;
      return el.multiline
        ? `<textarea class="bk-text-input"${common}${placeholder}${len}>${escapeHtml(el.initial_value ?? '')}</textarea>`
        : `<input class="bk-text-input"${common}${placeholder}${len}${attr('value', el.initial_value)}>`;
    }
    // The demo workspace's people and channels stand in for Slack's directory (ctx.users, ctx.channels);
    // without them the element still renders, offering only what is already chosen.
    case 'multi_users_select': {
      const chosen = el.initial_users ?? [];
      const users = directory(ctx.users, chosen, ctx.userName);
      return `<select multiple class="bk-select bk-multi"${common}>${users
        .map(
          (u) =>
            `<option value="${escapeHtml(u.id)}"${chosen.includes(u.id) ? ' selected' : ''}>@${escapeHtml(u.name)}</option>`,
        )
        .join('')}</select>`;
    }
    case 'conversations_select': {
      const chosen = el.initial_conversation ? [el.initial_conversation] : [];
      const channels = directory(ctx.channels, chosen, ctx.channelName);
      return `<select class="bk-select"${common}><option value="">${renderText(el.placeholder ?? { type: 'plain_text', text: 'Select a channel…' }, ctx)}</option>${channels
        .map(
          (c) =>
            `<option value="${escapeHtml(c.id)}"${chosen.includes(c.id) ? ' selected' : ''}>#${escapeHtml(c.name)}</option>`,
        )
        .join('')}</select>`;
    }
    case 'overflow':
      return `<select class="bk-select bk-overflow"${common}${options_(el.options)} data-dispatch="change"><option value="">⋯</option>${el.options
        .map((o) => optionHtml(o, false, ctx))
        .join('')}</select>`;
    case 'image':
      return `<img class="bk-image-accessory" src="${escapeHtml(el.image_url)}" alt="${escapeHtml(el.alt_text)}">`;
    default:
      throw new UnknownBlockError(`unknown element type "${el.type}" in block ${blockId ?? '(no id)'}`);
  }
}

/** The directory's entries plus any chosen id it lacks (a user or channel outside the demo). */
function directory(entries, chosen, nameOf) {
  const list = [...(entries ?? [])];
  for (const id of chosen) {
    if (!list.some((e) => e.id === id)) list.push({ id, name: nameOf?.(id) ?? id });
  }
  return list;
}

function renderRichTextElement(el, ctx) {
  switch (el.type) {
    case 'text': {
      let html = escapeHtml(el.text).replace(/\n/g, '<br>');
      const s = el.style ?? {};
      if (s.code) html = `<code class="bk-code">${html}</code>`;
      if (s.bold) html = `<b>${html}</b>`;
      if (s.italic) html = `<i>${html}</i>`;
      if (s.strike) html = `<s>${html}</s>`;
      return html;
    }
    case 'link':
      return `<a href="${escapeHtml(el.url)}" target="_blank" rel="noopener noreferrer">${escapeHtml(el.text ?? el.url)}</a>`;
    case 'user':
      return `<span class="bk-mention">@${escapeHtml(ctx.userName?.(el.user_id) ?? el.user_id)}</span>`;
    case 'channel':
      return `<span class="bk-mention">#${escapeHtml(ctx.channelName?.(el.channel_id) ?? el.channel_id)}</span>`;
    case 'emoji':
      return el.unicode
        ? String.fromCodePoint(...el.unicode.split('-').map((h) => Number.parseInt(h, 16)))
        : `:${escapeHtml(el.name)}:`;
    case 'date':
      return `<time class="bk-date">${escapeHtml(formatSlackDate(el.timestamp, el.format, ctx.now))}</time>`;
    default:
      throw new UnknownBlockError(`unknown rich text element "${el.type}"`);
  }
}

function renderRichTextPart(part, ctx) {
  const inner = () => (part.elements ?? []).map((e) => renderRichTextElement(e, ctx)).join('');
  switch (part.type) {
    case 'rich_text_section':
      return `<div class="bk-rt-section">${inner()}</div>`;
    case 'rich_text_preformatted':
      return `<pre class="bk-pre">${inner()}</pre>`;
    case 'rich_text_quote':
      return `<blockquote class="bk-quote">${inner()}</blockquote>`;
    case 'rich_text_list': {
      const tag = part.style === 'ordered' ? 'ol' : 'ul';
      return `<${tag} class="bk-rt-list">${(part.elements ?? []).map((item) => `<li>${renderRichTextPart(item, ctx)}</li>`).join('')}</${tag}>`;
    }
    default:
      throw new UnknownBlockError(`unknown rich text part "${part.type}"`);
  }
}

/** One block. Input blocks carry their block id so the page can collect `view.state.values`. */
export function renderBlock(block, ctx = {}) {
  const id = block.block_id;
  const error = ctx.errors?.[id];
  switch (block.type) {
    case 'header':
      return `<h2 class="bk-header">${renderText(block.text, ctx)}</h2>`;
    case 'divider':
      return '<hr class="bk-divider">';
    case 'section': {
      const text = block.text ? `<div class="bk-section-text">${renderText(block.text, ctx)}</div>` : '';
      const fields = block.fields
        ? `<div class="bk-fields">${block.fields.map((f) => `<div class="bk-field">${renderText(f, ctx)}</div>`).join('')}</div>`
        : '';
      const accessory = block.accessory
        ? `<div class="bk-accessory">${renderElement(block.accessory, id, ctx, 'accessory')}</div>`
        : '';
      return `<section class="bk-section"${attr('data-block-id', id)}><div class="bk-section-body">${text}${fields}</div>${accessory}</section>`;
    }
    case 'context':
      return `<div class="bk-context">${block.elements
        .map((e) =>
          e.type === 'image'
            ? `<img class="bk-context-image" src="${escapeHtml(e.image_url)}" alt="${escapeHtml(e.alt_text)}">`
            : `<span>${renderText(e, ctx)}</span>`,
        )
        .join('')}</div>`;
    case 'actions':
      return `<div class="bk-actions"${attr('data-block-id', id)}>${block.elements.map((e) => renderElement(e, id, ctx, 'actions')).join('')}</div>`;
    case 'input': {
      const optional = block.optional ? ' <span class="bk-optional">(optional)</span>' : '';
      const hint = block.hint ? `<div class="bk-hint">${renderText(block.hint, ctx)}</div>` : '';
      const err = error ? `<div class="bk-error" role="alert">${escapeHtml(error)}</div>` : '';
      return `<div class="bk-input${error ? ' bk-input-invalid' : ''}"${attr('data-block-id', id)}><label class="bk-label">${renderText(block.label, ctx)}${optional}</label>${renderElement(block.element, id, ctx, 'input')}${hint}${err}</div>`;
    }
    case 'image':
      return `<figure class="bk-image">${block.title ? `<figcaption>${renderText(block.title, ctx)}</figcaption>` : ''}<img src="${escapeHtml(block.image_url)}" alt="${escapeHtml(block.alt_text)}"></figure>`;
    case 'rich_text':
      return `<div class="bk-rich-text">${block.elements.map((p) => renderRichTextPart(p, ctx)).join('')}</div>`;
    default:
      throw new UnknownBlockError(`unknown block type "${block.type}"`);
  }
}

export function renderBlocks(blocks, ctx = {}) {
  return (blocks ?? []).map((b) => renderBlock(b, ctx)).join('');
}

/** A message: its blocks, or its text when it has none (as Slack shows it). */
export function renderMessageBody(message, ctx = {}) {
  return message.blocks?.length
    ? renderBlocks(message.blocks, ctx)
    : `<div class="bk-section-text">${renderMrkdwn(message.text, ctx)}</div>`;
}
