/**
 * The Block Kit limits Slack enforces on views and messages, checked the way Slack answers:
 * a list of `[ERROR] … [json-pointer:…]` messages, empty when Slack would accept the payload.
 */

type Json = Record<string, unknown>;

const MAX_TITLE = 24;
const MAX_VIEW_BLOCKS = 100;
const MAX_MESSAGE_BLOCKS = 50;
const MAX_METADATA = 3000;
const MAX_ID = 255;
const MAX_OPTION_TEXT = 75;
const MAX_OPTION_VALUE = 75;
const MAX_CHOICES = 10;
const MAX_SELECT_OPTIONS = 100;
const MAX_SECTION_TEXT = 3000;
const MAX_VIEW_BYTES = 250 * 1024;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const textOf = (v: unknown): string | undefined =>
  isObject(v) && typeof v.text === 'string' ? v.text : undefined;
const sameJson = (a: unknown, b: unknown) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, canonical(value[k])]),
  );
}

class Problems {
  readonly list: string[] = [];
  add(message: string, pointer: string) {
    this.list.push(`[ERROR] ${message} [json-pointer:${pointer}]`);
  }
  maxLength(value: unknown, max: number, pointer: string) {
    if (typeof value === 'string' && value.length > max) {
      this.add(`must be less than ${max + 1} characters`, pointer);
    }
  }
}

function checkOptions(element: Json, pointer: string, problems: Problems, max: number) {
  const options = Array.isArray(element.options) ? (element.options as unknown[]) : [];
  if (options.length > max) problems.add(`must provide at most ${max} items`, `${pointer}/options`);
  options.forEach((option, i) => {
    if (!isObject(option)) {
      problems.add('must be an object', `${pointer}/options/${i}`);
      return;
    }
    problems.maxLength(textOf(option.text), MAX_OPTION_TEXT, `${pointer}/options/${i}/text/text`);
    problems.maxLength(option.value, MAX_OPTION_VALUE, `${pointer}/options/${i}/value`);
  });
  if (element.initial_option !== undefined && !options.some((o) => sameJson(o, element.initial_option))) {
    problems.add('initial_option must match one of the options', `${pointer}/initial_option`);
  }
  if (Array.isArray(element.initial_options)) {
    element.initial_options.forEach((initial, i) => {
      if (!options.some((o) => sameJson(o, initial))) {
        problems.add('initial_options must match the options', `${pointer}/initial_options/${i}`);
      }
    });
  }
}

function checkElement(element: unknown, pointer: string, problems: Problems) {
  if (!isObject(element)) return;
  problems.maxLength(element.action_id, MAX_ID, `${pointer}/action_id`);
  switch (element.type) {
    case 'radio_buttons':
    case 'checkboxes':
      checkOptions(element, pointer, problems, MAX_CHOICES);
      break;
    case 'static_select':
    case 'multi_static_select':
    case 'overflow':
      checkOptions(element, pointer, problems, MAX_SELECT_OPTIONS);
      break;
  }
}

function checkBlocks(blocks: unknown, pointer: string, max: number, problems: Problems) {
  if (!Array.isArray(blocks)) {
    problems.add('must be an array', pointer);
    return;
  }
  if (blocks.length > max) problems.add(`must provide at most ${max} items`, pointer);
  const seen = new Set<string>();
  blocks.forEach((block, i) => {
    const at = `${pointer}/${i}`;
    if (!isObject(block)) {
      problems.add('must be an object', at);
      return;
    }
    if (typeof block.block_id === 'string') {
      problems.maxLength(block.block_id, MAX_ID, `${at}/block_id`);
      if (seen.has(block.block_id)) problems.add('duplicate block_id', `${at}/block_id`);
      seen.add(block.block_id);
    }
    if (block.type === 'section') {
      problems.maxLength(textOf(block.text), MAX_SECTION_TEXT, `${at}/text/text`);
      if (!block.text && !block.fields) problems.add('must provide text or fields', at);
      checkElement(block.accessory, `${at}/accessory`, problems);
    }
    if (block.type === 'input') {
      if (!textOf(block.label)) problems.add('must provide a label', `${at}/label`);
      if (!isObject(block.element)) problems.add('must provide an element', `${at}/element`);
      checkElement(block.element, `${at}/element`, problems);
    }
    if (block.type === 'actions' && Array.isArray(block.elements)) {
      block.elements.forEach((el, j) => {
        checkElement(el, `${at}/elements/${j}`, problems);
      });
    }
  });
}

/** What Slack would say about a view passed to views.open/update/push/publish. */
export function checkView(view: unknown): string[] {
  const problems = new Problems();
  if (!isObject(view)) {
    problems.add('must be an object', '/view');
    return problems.list;
  }
  if (Buffer.byteLength(JSON.stringify(view)) > MAX_VIEW_BYTES) {
    problems.add(`view must be smaller than ${MAX_VIEW_BYTES} bytes`, '/view');
  }
  if (view.type !== 'modal' && view.type !== 'home') problems.add('must be modal or home', '/view/type');
  if (view.type === 'modal') {
    const title = textOf(view.title);
    if (!title) problems.add('must provide a title', '/view/title');
    problems.maxLength(title, MAX_TITLE, '/view/title/text');
    problems.maxLength(textOf(view.submit), MAX_TITLE, '/view/submit/text');
    problems.maxLength(textOf(view.close), MAX_TITLE, '/view/close/text');
    const blocks = Array.isArray(view.blocks) ? (view.blocks as Json[]) : [];
    if (blocks.some((b) => isObject(b) && b.type === 'input') && !view.submit) {
      problems.add('submit is required when a view has input blocks', '/view/submit');
    }
  }
  problems.maxLength(view.private_metadata, MAX_METADATA, '/view/private_metadata');
  problems.maxLength(view.callback_id, MAX_ID, '/view/callback_id');
  problems.maxLength(view.external_id, MAX_ID, '/view/external_id');
  checkBlocks(view.blocks, '/view/blocks', MAX_VIEW_BLOCKS, problems);
  return problems.list;
}

/** What Slack would say about chat.postMessage / postEphemeral / a response_url message. */
export function checkMessage(message: Json): string[] {
  const problems = new Problems();
  if (!message.text && !message.blocks && !message.attachments) {
    problems.add('no_text: a message needs text or blocks', '/text');
  }
  if (message.blocks !== undefined) checkBlocks(message.blocks, '/blocks', MAX_MESSAGE_BLOCKS, problems);
  return problems.list;
}
