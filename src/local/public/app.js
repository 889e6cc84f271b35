// The local-mode page: a small Slack client for the demo workspace. It renders what the bot sends
// (messages, ephemerals, modals, the App Home) and turns clicks into the requests Slack would send;
// the page's backend signs them and posts them to the bot's own /slack/events.
import { escapeHtml, renderBlocks, renderMessageBody, renderText } from '/local/block-kit.js';

const $ = (id) => document.getElementById(id);
const state = {
  user: null,
  pane: null,
  tab: 'home',
  data: null,
  modalKey: null,
  homeKey: null,
  messagesKey: null,
};

async function api(path, body) {
  const res = await fetch(`/local/api/${path}`, {
    method: body ? 'POST' : 'GET',
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.message || `request failed (${res.status})`);
  return data;
}

function toast(text) {
  const el = $('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    el.hidden = true;
  }, 5000);
}

const ctx = () => ({
  users: state.data?.users,
  channels: state.data?.channels,
  userName: (id) => state.data?.users.find((u) => u.id === id)?.name ?? id,
  channelName: (id) => state.data?.channels.find((c) => c.id === id)?.name ?? id,
});

function renderSidebar() {
  const { users, channels } = state.data;
  const switcher = $('user-switcher');
  if (!switcher.options.length) {
    switcher.innerHTML = users
      .map((u) => `<option value="${escapeHtml(u.id)}">${escapeHtml(u.name)}</option>`)
      .join('');
  }
  switcher.value = state.user;
  const me = users.find((u) => u.id === state.user);
  $('user-role').textContent = me ? me.title : '';
  $('channel-list').innerHTML = channels
    .map(
      (c) =>
        `<li><button type="button" class="nav-item${state.pane === c.id ? ' active' : ''}" data-channel="${escapeHtml(c.id)}"># ${escapeHtml(c.name)}</button></li>`,
    )
    .join('');
  $('open-app').classList.toggle('active', state.pane === 'app');
}

function renderPane() {
  const inApp = state.pane === 'app';
  const channel = state.data.channels.find((c) => c.id === state.pane);
  $('pane-title').textContent = inApp ? 'rekey' : `#${channel?.name ?? ''}`;
  $('app-tabs').hidden = !inApp;
  for (const tab of document.querySelectorAll('.tab'))
    tab.classList.toggle('active', tab.dataset.tab === state.tab);
  const showHome = inApp && state.tab === 'home';
  $('home').hidden = !showHome;
  $('messages').hidden = showHome;
  $('composer').hidden = showHome;
  if (showHome) renderHome();
  else renderMessages(inApp ? state.data.dm : state.pane);
}

function renderMessages(channelId) {
  const messages = state.data.messages.filter((m) => m.channel === channelId);
  const key = JSON.stringify([channelId, messages.map((m) => m.ts)]);
  if (key === state.messagesKey) return;
  state.messagesKey = key;
  const box = $('messages');
  box.innerHTML = messages.length
    ? messages
        .map((m) => {
          const who = m.user ? ctx().userName(m.user) : 'rekey';
          const when = new Date(Number(m.ts) * 1000).toLocaleTimeString(undefined, {
            hour: 'numeric',
            minute: '2-digit',
          });
          const eph = m.ephemeral ? '<div class="ephemeral-note">Only visible to you</div>' : '';
          let body;
          try {
            body = renderMessageBody(m, ctx());
          } catch (error) {
            body = `<div class="bk-error">Cannot render this message: ${escapeHtml(error.message)}</div>`;
          }
          return `<article class="message${m.ephemeral ? ' ephemeral' : ''}" data-ts="${escapeHtml(m.ts)}"><div class="avatar">${escapeHtml((m.user ? ctx().userName(m.user) : 'rekey').slice(0, 1).toUpperCase())}</div><div class="message-body"><div class="message-meta"><b>${escapeHtml(who)}</b>${m.user ? '' : ' <span class="app-badge">APP</span>'} <span class="when">${escapeHtml(when)}</span></div>${eph}${body}</div></article>`;
        })
        .join('')
    : '<p class="empty">No messages yet. Try <code>/rotate-key</code>.</p>';
  box.scrollTop = box.scrollHeight;
}

function renderHome() {
  const view = state.data.home;
  const key = JSON.stringify(view);
  if (key === state.homeKey) return;
  state.homeKey = key;
  try {
    $('home').innerHTML = view ? renderBlocks(view.blocks, ctx()) : '<p class="empty">Loading your Home…</p>';
  } catch (error) {
    $('home').innerHTML =
      `<div class="bk-error">Cannot render the Home tab: ${escapeHtml(error.message)}</div>`;
  }
}

function renderModal() {
  const modal = state.data.modal;
  const key = modal ? JSON.stringify([modal.id, modal.hash, modal.errors]) : null;
  if (key === state.modalKey) return;
  state.modalKey = key;
  $('modal-layer').hidden = !modal;
  if (!modal) return;
  // Same view, new errors: Slack keeps what the user entered, so carry the inputs over the re-render.
  const form = $('modal');
  const keep =
    form.dataset.viewId === modal.id && form.dataset.hash === modal.hash ? collectValues(form) : null;
  const v = modal.view;
  let body;
  try {
    body = renderBlocks(v.blocks, { ...ctx(), errors: modal.errors });
  } catch (error) {
    body = `<div class="bk-error">Cannot render this view: ${escapeHtml(error.message)}</div>`;
  }
  $('modal').innerHTML =
    `<header class="modal-header"><h2>${renderText(v.title)}</h2><button type="button" class="modal-x" data-close aria-label="Close">×</button></header><div class="modal-body">${body}</div><footer class="modal-footer"><button type="button" class="secondary" data-close>${renderText(v.close ?? { type: 'plain_text', text: 'Cancel' })}</button>${v.submit ? `<button type="submit" class="primary">${renderText(v.submit)}</button>` : ''}</footer>`;
  form.dataset.viewId = modal.id;
  form.dataset.hash = modal.hash;
  if (keep) restoreValues(form, keep);
}

function restoreValues(form, values) {
  for (const el of form.querySelectorAll('.bk-input [data-action-id]')) {
    const value = values[el.dataset.blockId]?.[el.dataset.actionId];
    if (!value) continue;
    if (value.type === 'plain_text_input') el.value = value.value ?? '';
    else if (value.type === 'static_select') el.value = value.selected_option?.value ?? '';
    else if (value.type === 'radio_buttons') {
      for (const input of el.querySelectorAll('input'))
        input.checked = input.value === value.selected_option?.value;
    } else if (value.type === 'checkboxes') {
      const chosen = new Set((value.selected_options ?? []).map((o) => o.value));
      for (const input of el.querySelectorAll('input')) input.checked = chosen.has(input.value);
    } else if (value.type === 'multi_users_select') {
      const chosen = new Set(value.selected_users ?? []);
      for (const option of el.options) option.selected = chosen.has(option.value);
    } else if (value.type === 'conversations_select') el.value = value.selected_conversation ?? '';
  }
}

function render() {
  renderSidebar();
  renderPane();
  renderModal();
}

async function refresh() {
  try {
    state.data = await api(`state?user=${encodeURIComponent(state.user)}`);
    if (!state.pane) state.pane = state.data.channels[0]?.id;
    render();
  } catch (error) {
    toast(`The bot is not answering: ${error.message}`);
  }
}

function findOption(element, value) {
  const options = JSON.parse(element.dataset.options ?? '[]');
  return options.find((o) => o.value === value) ?? null;
}

/** `view.state.values` as Slack builds it: block_id → action_id → typed value. */
function collectValues(form) {
  const values = {};
  for (const block of form.querySelectorAll('.bk-input')) {
    const el = block.querySelector('[data-action-id]');
    if (!el) continue;
    const { blockId, actionId, type } = el.dataset;
    let value;
    if (type === 'plain_text_input') value = { type, value: el.value || null };
    else if (type === 'static_select')
      value = { type, selected_option: el.value ? findOption(el, el.value) : null };
    else if (type === 'radio_buttons') {
      const checked = el.querySelector('input:checked');
      value = { type, selected_option: checked ? findOption(el, checked.value) : null };
    } else if (type === 'checkboxes') {
      value = {
        type,
        selected_options: [...el.querySelectorAll('input:checked')].map((i) => findOption(el, i.value)),
      };
    } else if (type === 'multi_users_select') {
      value = { type, selected_users: [...el.selectedOptions].map((o) => o.value) };
    } else if (type === 'conversations_select') {
      value = { type, selected_conversation: el.value || null };
    }
    values[blockId] = { ...(values[blockId] ?? {}), [actionId]: value };
  }
  return values;
}

function confirmDialog(confirm) {
  return new Promise((resolve) => {
    const layer = $('confirm-layer');
    const danger = confirm.style === 'danger' ? ' danger' : ' primary';
    $('confirm').innerHTML =
      `<header class="modal-header"><h2>${renderText(confirm.title)}</h2></header><div class="modal-body">${renderText(confirm.text)}</div><footer class="modal-footer"><button type="button" class="secondary" data-answer="no">${renderText(confirm.deny ?? { type: 'plain_text', text: 'Cancel' })}</button><button type="button" class="${danger}" data-answer="yes">${renderText(confirm.confirm ?? { type: 'plain_text', text: 'Yes' })}</button></footer>`;
    layer.hidden = false;
    $('confirm').onclick = (event) => {
      const answer = event.target.closest('[data-answer]')?.dataset.answer;
      if (!answer) return;
      layer.hidden = true;
      resolve(answer === 'yes');
    };
  });
}

async function sendAction(el, extra = {}) {
  const inModal = Boolean(el.closest('#modal'));
  const inHome = Boolean(el.closest('#home'));
  const message = el.closest('.message');
  const container = inModal
    ? { type: 'view', view_id: $('modal').dataset.viewId }
    : inHome
      ? { type: 'view', view_id: state.data.home?.id }
      : {
          type: 'message',
          message_ts: message?.dataset.ts,
          channel_id: state.pane === 'app' ? state.data.dm : state.pane,
        };
  if (el.dataset.confirm && !(await confirmDialog(JSON.parse(el.dataset.confirm)))) return;
  await api('block-action', {
    user: state.user,
    container,
    action: {
      type: el.dataset.type,
      action_id: el.dataset.actionId,
      block_id: el.dataset.blockId,
      value: el.dataset.value,
      ...extra,
    },
    values: inModal ? collectValues($('modal')) : undefined,
  });
  await refresh();
}

document.addEventListener('click', async (event) => {
  const target = event.target;
  const channel = target.closest('[data-channel]');
  if (channel) {
    state.pane = channel.dataset.channel;
    state.messagesKey = null;
    return render();
  }
  if (target.closest('#open-app')) {
    state.pane = 'app';
    state.messagesKey = null;
    render();
    if (state.tab === 'home')
      await api('home-opened', { user: state.user }).then(refresh, (e) => toast(e.message));
    return;
  }
  const tab = target.closest('.tab');
  if (tab) {
    state.tab = tab.dataset.tab;
    state.messagesKey = null;
    render();
    if (state.tab === 'home')
      await api('home-opened', { user: state.user }).then(refresh, (e) => toast(e.message));
    return;
  }
  if (target.closest('[data-close]')) {
    await api('view-closed', { user: state.user, viewId: $('modal').dataset.viewId }).catch((e) =>
      toast(e.message),
    );
    state.modalKey = undefined;
    return refresh();
  }
  const button = target.closest('button.bk-button');
  if (button) {
    event.preventDefault();
    if (button.dataset.url) window.open(button.dataset.url, '_blank', 'noopener');
    await sendAction(button, { text: { type: 'plain_text', text: button.textContent } }).catch((e) =>
      toast(e.message),
    );
  }
});

document.addEventListener('change', async (event) => {
  const el = event.target.closest('[data-dispatch="change"]');
  if (!el?.value) return;
  await sendAction(el, { selected_option: findOption(el, el.value) }).catch((e) => toast(e.message));
});

$('modal').addEventListener('submit', async (event) => {
  event.preventDefault();
  const submit = $('modal').querySelector('button[type=submit]');
  submit.disabled = true;
  try {
    const result = await api('view-submission', {
      user: state.user,
      viewId: $('modal').dataset.viewId,
      values: collectValues($('modal')),
    });
    if (result.error) toast(result.error);
    state.modalKey = undefined;
    await refresh();
  } catch (error) {
    toast(error.message);
  } finally {
    submit.disabled = false;
  }
});

$('composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = $('composer-input');
  const text = input.value.trim();
  if (!text) return;
  const channel = state.pane === 'app' ? state.data.dm : state.pane;
  try {
    await api('message', { user: state.user, channel, text });
    input.value = '';
    await refresh();
  } catch (error) {
    toast(error.message);
  }
});

$('user-switcher').addEventListener('change', async (event) => {
  state.user = event.target.value;
  localStorage.setItem('rekey-local-user', state.user);
  state.modalKey = state.homeKey = state.messagesKey = undefined;
  await refresh();
  if (state.pane === 'app' && state.tab === 'home')
    await api('home-opened', { user: state.user }).then(refresh);
});

async function start() {
  const boot = await api('state');
  state.user = localStorage.getItem('rekey-local-user') ?? boot.users[0].id;
  if (!boot.users.some((u) => u.id === state.user)) state.user = boot.users[0].id;
  await refresh();
  setInterval(refresh, 1000);
}

start().catch((error) => toast(error.message));
